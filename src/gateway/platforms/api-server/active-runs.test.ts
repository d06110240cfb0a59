import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActiveRuns } from './active-runs.ts';
import { ApiError, ServerShutdownError } from './errors.ts';

test('drain waits for runs that finish within the grace period without aborting them', async () => {
  const runs = new ActiveRuns();
  const run = runs.register();
  setTimeout(() => run.release(), 20);
  await runs.drain(5_000);
  assert.equal(run.signal.aborted, false);
  assert.equal(runs.size, 0);
});

test('drain aborts runs still going after the grace period, then refuses new ones', async () => {
  const runs = new ActiveRuns();
  const run = runs.register();
  run.signal.addEventListener('abort', () => run.release());
  await runs.drain(10);
  assert.equal(run.signal.aborted, true);
  // The reason says the server, not the client, stopped the run.
  assert.ok(run.signal.reason instanceof ServerShutdownError);
  assert.throws(
    () => runs.register(),
    (e: unknown) => e instanceof ApiError && e.status === 503 && e.code === 'server_shutting_down',
  );
});

test('a parent signal (client disconnect) aborts the run', () => {
  const runs = new ActiveRuns();
  const parent = new AbortController();
  const run = runs.register(parent.signal);
  parent.abort();
  assert.equal(run.signal.aborted, true);
  run.release();
  assert.equal(runs.size, 0);
});
