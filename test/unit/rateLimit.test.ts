import { expect } from 'chai';
import { RateLimiter } from '../../api/middleware/rateLimit';
import { AppError } from '../../lib/errors';

describe('token-bucket rate limiter', () => {
  it('allows the burst, refuses with Retry-After, then refills with time', () => {
    let now = 0;
    const limiter = new RateLimiter({ RATE_LIMIT_BURST: 2, RATE_LIMIT_PER_MINUTE: 60 }, () => now);
    limiter.take('alice', 'assets');
    limiter.take('alice', 'assets');
    let refused: AppError | undefined;
    try {
      limiter.take('alice', 'assets');
    } catch (err) {
      refused = err as AppError;
    }
    expect(refused?.status).to.equal(429);
    expect(refused?.headers['Retry-After']).to.equal('1');
    limiter.take('alice', 'payments');
    limiter.take('bob', 'assets');
    now += 1000;
    limiter.take('alice', 'assets');
  });
});
