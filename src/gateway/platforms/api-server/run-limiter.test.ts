import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.ts';
import { RunLimiter } from './run-limiter.ts';

const isStatus = (status: number) => (error: unknown) => error instanceof ApiError && error.status === status;

test('without a queue, refuses past the limit with a 429 carrying retry-after, and frees slots on release', async () => {
  const limiter = new RunLimiter({ maxConcurrentRuns: 2, retryAfterSeconds: 3 });
  const first = await limiter.acquire();
  await limiter.acquire();
  await assert.rejects(
    limiter.acquire(),
    (error: unknown) => isStatus(429)(error) && (error as ApiError).headers['retry-after'] === '3',
  );
  first();
  first();
  assert.equal(limiter.active, 1, 'release is idempotent');
  await limiter.acquire();
  assert.equal(limiter.active, 2);
});

test('queued requests get freed slots in arrival order; past the queue they get 429 at once', async () => {
  const limiter = new RunLimiter({ maxConcurrentRuns: 1, maxQueuedRuns: 2, queueTimeoutMs: 60_000 });
  const release = await limiter.acquire();
  const order: string[] = [];
  const queue = (name: string) =>
    limiter.acquire().then((release) => {
      order.push(name);
      return release;
    });
  const second = queue('second');
  const third = queue('third');
  assert.equal(limiter.queued, 2);
  await assert.rejects(limiter.acquire(), isStatus(429));
  release();
  (await second)();
  (await third)();
  assert.deepEqual(order, ['second', 'third']);
  assert.equal(limiter.active, 0);
  assert.equal(limiter.queued, 0);
});

test('a queued request times out with 429, and one whose client leaves drops out of the queue', async () => {
  const limiter = new RunLimiter({ maxConcurrentRuns: 1, maxQueuedRuns: 2, queueTimeoutMs: 20 });
  const release = await limiter.acquire();
  await assert.rejects(
    limiter.acquire(),
    (error: unknown) => isStatus(429)(error) && /within/.test(String(error)),
  );
  const gone = new AbortController();
  const leaving = limiter.acquire(gone.signal);
  gone.abort(new Error('client left'));
  await assert.rejects(leaving, /client left/);
  assert.equal(limiter.queued, 0);
  release();
  assert.equal(limiter.active, 0, 'the slot is not handed to a request that left');
});

test('close() answers every waiter and later request with 503', async () => {
  const limiter = new RunLimiter({ maxConcurrentRuns: 1, maxQueuedRuns: 5, queueTimeoutMs: 60_000 });
  await limiter.acquire();
  const waiting = [limiter.acquire(), limiter.acquire()];
  limiter.close();
  for (const w of waiting) await assert.rejects(w, isStatus(503));
  await assert.rejects(limiter.acquire(), isStatus(503));
  assert.equal(limiter.queued, 0);
});
