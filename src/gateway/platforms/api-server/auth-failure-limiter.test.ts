import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthFailureLimiter } from './auth-failure-limiter.ts';

test('blocks an address after max failures in the window until the oldest ages out (sliding window)', () => {
  let now = 0;
  const limiter = new AuthFailureLimiter({ max: 3, windowMs: 10_000, now: () => now });
  for (const t of [0, 4_000, 8_000]) {
    now = t;
    assert.equal(limiter.retryAfterSeconds('a'), 0);
    limiter.recordFailure('a');
  }
  assert.equal(limiter.retryAfterSeconds('a'), 2, 'until the failure at 0 s leaves the 10 s window');
  assert.equal(limiter.retryAfterSeconds('b'), 0, 'other addresses are unaffected');
  now = 10_000;
  assert.equal(limiter.retryAfterSeconds('a'), 0);
  limiter.recordFailure('a');
  assert.equal(limiter.retryAfterSeconds('a'), 4, 'the window slides: now the failure at 4 s counts');
  now = 30_000;
  assert.equal(limiter.retryAfterSeconds('a'), 0, 'all failures aged out');
});
