import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatMessage } from './types.ts';
import { toWireParams } from './wire-messages.ts';

const conversation: ChatMessage[] = [
  { role: 'system', content: 'core' },
  { role: 'user', content: 'hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'system', content: 'Summarize the discussion.' },
];

test('a late system message goes upstream in place as a system message by default', () => {
  const params = toWireParams({ model: 'm', messages: conversation }, undefined);
  assert.deepEqual(
    params.messages.map((m) => m.role),
    ['system', 'user', 'assistant', 'system'],
  );
});

test('mid_conversation_system: user sends a late system message as a marked user message, in place', () => {
  const params = toWireParams({ model: 'm', messages: conversation }, undefined, 'user');
  assert.deepEqual(params.messages, [
    { role: 'system', content: 'core' },
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: '[System instruction]\nSummarize the discussion.' },
  ]);
});
