import { AppError } from '../../lib/errors';

export interface RateLimitSettings {
  RATE_LIMIT_PER_MINUTE: number;
  RATE_LIMIT_BURST: number;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/**
 * Token buckets per principal and route group, in this process's memory.
 * With n API replicas a principal gets n buckets; put a shared limiter in
 * front of the replicas when that matters.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(private readonly settings: RateLimitSettings, private readonly now: () => number = Date.now) {
    this.perMs = settings.RATE_LIMIT_PER_MINUTE / 60000;
  }

  take(principal: string, group: string): void {
    const key = `${principal}\u0000${group}`;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.settings.RATE_LIMIT_BURST, refilledAt: now };
    bucket.tokens = Math.min(this.settings.RATE_LIMIT_BURST, bucket.tokens + (now - bucket.refilledAt) * this.perMs);
    bucket.refilledAt = now;
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
      throw new AppError(429, 'rate_limited', 'RATE_LIMITED', `too many requests; retry in ${retryAfter} s`, [], {
        'Retry-After': String(retryAfter),
      });
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 100000) this.evictFull(now);
  }

  /** Forgets buckets that have refilled completely: they carry no state. */
  private evictFull(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.refilledAt) * this.perMs >= this.settings.RATE_LIMIT_BURST) this.buckets.delete(key);
    }
  }
}
