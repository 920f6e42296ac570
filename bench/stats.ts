// Helpers shared by the benches: percentiles, timed sequential runs, resident memory of a process tree.
import fs from 'node:fs';

/** The p-th percentile (nearest rank) of `xs`; NaN when there are none. */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))]!;
}

/** Runs `fn` on each item in turn; returns the milliseconds each call took. */
export async function times<T>(items: T[], fn: (q: T) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (const q of items) {
    const s = performance.now();
    await fn(q);
    out.push(performance.now() - s);
  }
  return out;
}

/** A `/proc/PID/status` size field in bytes (0 once the process is gone). */
export function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0; // exited meanwhile
  }
}

/** `pid` and its descendants (children of every thread, from /proc). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${out[i]}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        const kids = fs.readFileSync(`/proc/${out[i]}/task/${t}/children`, 'utf8').trim();
        if (kids !== '') out.push(...kids.split(/\s+/).map(Number));
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return out;
}

/** Resident bytes of `pid` and all its descendants now. */
export function treeRss(pid: number): number {
  return processTree(pid).reduce((n, p) => n + procStatus(p, 'VmRSS'), 0);
}
