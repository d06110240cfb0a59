/**
 * ChunkBuilder's pre-serialised content and reasoning frames: byte-identical to JSON-encoding the
 * whole chunk object (same keys, same order), for awkward texts and for model names that mimic the
 * builder's placeholder.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkBuilder, newCompletionIdentity } from './chat-completion-chunks.ts';

/** A text chunk as an object, in the key order every chunk has. */
function expectedContent(
  identity: ReturnType<typeof newCompletionIdentity>,
  text: string,
  usage: boolean,
  key: 'content' | 'reasoning_content' = 'content',
) {
  return {
    id: identity.id,
    object: 'chat.completion.chunk',
    created: identity.created,
    model: identity.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta: { [key]: text }, logprobs: null, finish_reason: null }],
    ...(usage ? { usage: null } : {}),
  };
}

const texts = ['', 'hello', ' "quoted" \\ back\nslash', 'emoji 🚀 and \u0000 nul', '\u2028\u2029', '{"x":1}'];

test('content and reasoning frames are the JSON of the full chunk, byte for byte, with and without usage', () => {
  for (const includeUsage of [false, true]) {
    const identity = newCompletionIdentity('herald');
    const chunks = new ChunkBuilder(identity, includeUsage);
    for (const text of texts) {
      assert.equal(chunks.content(text), JSON.stringify(expectedContent(identity, text, includeUsage)));
      assert.equal(
        chunks.reasoning(text),
        JSON.stringify(expectedContent(identity, text, includeUsage, 'reasoning_content')),
      );
    }
  }
});

test('a client-chosen model name cannot disturb where the text goes', () => {
  // Exactly the builder's placeholder, so its serialised form appears before the delta too.
  const sentinelLike = '\u0000herald-text-slot\u0000';
  const identity = newCompletionIdentity(sentinelLike);
  const chunks = new ChunkBuilder(identity, true);
  const frame = chunks.content('answer');
  assert.equal(frame, JSON.stringify(expectedContent(identity, 'answer', true)));
  assert.equal(JSON.parse(frame).model, sentinelLike);
});
