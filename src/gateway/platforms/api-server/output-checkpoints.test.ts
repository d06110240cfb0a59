import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutputCheckpoints } from './output-checkpoints.ts';

test('writes only changed output, one write at a time, and never after stop() resolves', async () => {
  let output: string[] = [];
  const writes: string[][] = [];
  let release!: () => void;
  const checkpoints = new OutputCheckpoints({
    intervalMs: 5,
    snapshot: () => ({ status: 'in_progress', output: [...output] }),
    write: async (body) => {
      writes.push(body['output'] as string[]);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    onError: (error) => assert.fail(String(error)),
  });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(writes.length, 0, 'nothing changed, nothing written');
  output = ['a'];
  while (writes.length === 0) await new Promise((r) => setTimeout(r, 5));
  output = ['a', 'b'];
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(writes.length, 1, 'the next write waits for the one under way');
  const stopped = checkpoints.stop();
  release();
  // The queued write (['a','b']) runs, then stop() resolves; nothing is written afterwards.
  while (writes.length < 2) await new Promise((r) => setTimeout(r, 5));
  release();
  await stopped;
  const count = writes.length;
  output = ['a', 'b', 'c'];
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(writes.length, count);
  assert.deepEqual(writes, [['a'], ['a', 'b']]);
});
