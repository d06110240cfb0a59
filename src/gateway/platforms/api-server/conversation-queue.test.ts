import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConversationQueue } from './conversation-queue.ts';

const tick = () => new Promise((r) => setImmediate(r));

test('runs with the same key execute one after the other in arrival order', async () => {
  const queue = new ConversationQueue();
  const log: string[] = [];
  const gates = [Promise.withResolvers<void>(), Promise.withResolvers<void>(), Promise.withResolvers<void>()];
  const runs = gates.map((gate, i) =>
    queue.run('a', async () => {
      log.push(`start ${i}`);
      await gate.promise;
      log.push(`end ${i}`);
      return i;
    }),
  );
  await tick();
  assert.deepEqual(log, ['start 0']);
  gates[2]!.resolve();
  gates[1]!.resolve();
  await tick();
  assert.deepEqual(log, ['start 0'], 'later runs wait even when ready');
  gates[0]!.resolve();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2]);
  assert.deepEqual(log, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
});

test('different keys run in parallel', async () => {
  const queue = new ConversationQueue();
  const gate = Promise.withResolvers<void>();
  let bRan = false;
  const a = queue.run('a', () => gate.promise);
  await queue.run('b', async () => {
    bRan = true;
  });
  assert.equal(bRan, true);
  gate.resolve();
  await a;
});

test('a failed run does not block the next one and the key is forgotten when idle', async () => {
  const queue = new ConversationQueue();
  const failed = queue.run('a', async () => {
    throw new Error('boom');
  });
  const next = queue.run('a', async () => 'next');
  await assert.rejects(failed, /boom/);
  assert.equal(await next, 'next');
  await tick();
  assert.equal(queue.size, 0);
});
