// Per-client token bucket (client = authenticated principal, else remote IP). In memory: one
// daemon, one process. Idle full buckets are dropped so the map stays bounded by active clients.

export interface RateLimitOptions {
  /** Refill rate, tokens per second. */
  ratePerSecond: number;
  /** Bucket size (burst). */
  burst: number;
  now?: () => number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(private readonly opts: RateLimitOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Takes one token. Returns 0 when allowed, else the seconds until a token is available. */
  take(key: string): number {
    const now = this.now();
    this.sweep(now);
    const b = this.buckets.get(key) ?? { tokens: this.opts.burst, at: now };
    b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) / 1000) * this.opts.ratePerSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.opts.ratePerSecond;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    const refill = (this.opts.burst / this.opts.ratePerSecond) * 1000;
    for (const [k, b] of this.buckets) if (now - b.at > refill) this.buckets.delete(k);
  }
}
