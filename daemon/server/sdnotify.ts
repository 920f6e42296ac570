// systemd readiness and watchdog for `Type=notify` units. Node has no AF_UNIX datagram sockets,
// so this runs `systemd-notify` (hence `NotifyAccess=all` in the unit: the message comes from a
// child process). A no-op when NOTIFY_SOCKET is unset (not under systemd).
import { execFile } from 'node:child_process';

function send(args: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('systemd-notify', args, { env, timeout: 5_000 }, (err) => resolve(!err));
  });
}

/** READY=1 (plus STATUS). */
export function notifyReady(status = 'serving', env = process.env): Promise<boolean> {
  return send(['--ready', `--status=${status}`], env);
}

export function notifyStopping(env = process.env): Promise<boolean> {
  return send(['STOPPING=1'], env);
}

/**
 * Pings the watchdog at half of WATCHDOG_USEC while `healthy()` says so; returns a stop function.
 * A no-op without WATCHDOG_USEC.
 */
export function startWatchdog(healthy: () => Promise<boolean> | boolean = () => true, env = process.env): () => void {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.NOTIFY_SOCKET || !Number.isFinite(usec) || usec <= 0) return () => undefined;
  const timer = setInterval(() => {
    void Promise.resolve(healthy()).then((ok) => (ok ? send(['WATCHDOG=1'], env) : false));
  }, Math.max(1000, Math.floor(usec / 2000)));
  timer.unref();
  return () => clearInterval(timer);
}
