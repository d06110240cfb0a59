import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateTokens, estimateUsage, prepareTokenEstimator } from './token-estimator.ts';

test('counts tokens with the cl100k tokenizer (built in the background)', async () => {
  prepareTokenEstimator();
  assert.equal(await estimateTokens(''), 0);
  assert.equal(await estimateTokens('hello world'), 2);
  // Special-token text in user content is plain text, not rejected.
  assert.ok((await estimateTokens('<|endoftext|>')) > 1);
});

test('estimates a call: message overheads, tool specs and output, always marked estimated', async () => {
  const usage = await estimateUsage(
    {
      model: 'm',
      messages: [
        { role: 'system', content: 'hello world' },
        { role: 'user', content: 'hello world' },
      ],
    },
    { text: 'hello world', toolCalls: [{ id: 'c1', name: 'hello', arguments: ' world' }] },
  );
  // 3 priming + 2 × (4 per message + 2) prompt; 2 + 2 completion.
  assert.deepEqual(usage, { promptTokens: 15, completionTokens: 4, totalTokens: 19, estimated: true });
});
