/**
 * @module Failed-authentication rate limit per address: a token bucket that a burst of failures empties and time
 * refills. Bounded in memory, so a scan from many addresses cannot grow it without limit.
 */

export interface RateLimitOptions {
  /** failures allowed in a burst */
  readonly burst: number;
  /** one failure is forgiven per this many ms */
  readonly refillMs: number;
  /** addresses tracked at most; the least recently failing are forgotten first */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
  /** the lockout has been reported (one security event per lockout, not one per refused request) */
  reported: boolean;
}

export class FailureRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly opts: RateLimitOptions) {
    this.now = opts.now ?? Date.now;
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  private refill(key: string): Bucket | undefined {
    const b = this.buckets.get(key);
    if (!b) return undefined;
    const now = this.now();
    const earned = Math.floor((now - b.updatedMs) / this.opts.refillMs);
    if (earned > 0) {
      b.tokens = Math.min(this.opts.burst, b.tokens + earned);
      b.updatedMs += earned * this.opts.refillMs;
      if (b.tokens > 0) b.reported = false;
    }
    if (b.tokens >= this.opts.burst) {
      // A full bucket is the same as no bucket: forget it.
      this.buckets.delete(key);
      return undefined;
    }
    return b;
  }

  /** Is this address out of failures? */
  blocked(key: string): boolean {
    return (this.refill(key)?.tokens ?? this.opts.burst) <= 0;
  }

  /** Seconds until the address may try again (0 when it may now). */
  retryAfterSeconds(key: string): number {
    const b = this.refill(key);
    if (!b || b.tokens > 0) return 0;
    return Math.max(1, Math.ceil((b.updatedMs + this.opts.refillMs - this.now()) / 1000));
  }

  /** Record one failure; returns true when this failure used up the burst. */
  fail(key: string): boolean {
    let b = this.refill(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) {
        // Map iteration order is insertion order: drop the oldest entry.
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.opts.burst, updatedMs: this.now(), reported: false };
    } else this.buckets.delete(key);
    b.tokens = Math.max(0, b.tokens - 1);
    this.buckets.set(key, b);
    return b.tokens === 0;
  }

  /** True exactly once per lockout: the caller reports it then. */
  shouldReport(key: string): boolean {
    const b = this.refill(key);
    if (!b || b.tokens > 0 || b.reported) return false;
    b.reported = true;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}
