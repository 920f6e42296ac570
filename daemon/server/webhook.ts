// `POST /hooks/git`: a push notification from a forge (GitHub-style `X-Hub-Signature-256`) or
// any script (`Authorization: Bearer <webhookSecret>`). It only says "something moved"; the
// caller (daemon) fetches the named repositories that have a remote, then checks their refs.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { safeEqual } from './auth.ts';

/** True when the request carries a valid signature of `body` or the secret as bearer token. */
export function verifyWebhook(secret: string, body: Buffer, headers: IncomingHttpHeaders): boolean {
  const sig = headers['x-hub-signature-256'];
  if (typeof sig === 'string') {
    const m = /^sha256=([0-9a-fA-F]{64})$/.exec(sig.trim());
    if (!m) return false;
    const expected = createHmac('sha256', secret).update(body).digest();
    return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'));
  }
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m !== null && safeEqual(m[1]!, secret);
  }
  return false;
}

export interface HookRepo {
  name: string;
  remote?: string | undefined;
}

/**
 * Which configured repositories a payload is about: those named by `repository.name` (GitHub,
 * Gitea, GitLab `project.name`) that have a remote; all repositories with a remote when the payload
 * names none we know.
 */
export function reposForPayload(repos: HookRepo[], body: Buffer): string[] {
  const withRemote = repos.filter((r) => r.remote !== undefined);
  let named: string | undefined;
  try {
    const p = JSON.parse(body.toString('utf8')) as { repository?: { name?: unknown }; project?: { name?: unknown } };
    const n = p.repository?.name ?? p.project?.name;
    if (typeof n === 'string') named = n;
  } catch {
    // Not JSON (a bare `curl -X POST`): refresh everything.
  }
  const matched = named === undefined ? [] : withRemote.filter((r) => r.name === named);
  return (matched.length > 0 ? matched : withRemote).map((r) => r.name);
}
