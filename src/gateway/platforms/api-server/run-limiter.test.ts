import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.ts';
import { RunLimiter } from './run-limiter.ts';

test('refuses past the limit with a 429 carrying retry-after, and frees slots on release', () => {
  const limiter = new RunLimiter({ maxConcurrentRuns: 2, retryAfterSeconds: 3 });
  const first = limiter.acquire();
  limiter.acquire();
  assert.throws(
    () => limiter.acquire(),
    (error: unknown) =>
      error instanceof ApiError && error.status === 429 && error.headers['retry-after'] === '3',
  );
  first();
  first();
  assert.equal(limiter.active, 1, 'release is idempotent');
  limiter.acquire();
  assert.equal(limiter.active, 2);
});
