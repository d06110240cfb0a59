import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChatCompletionRequest } from './chat-completions-request.ts';
import { ApiError } from './errors.ts';

const rejectsWith = (body: unknown, param: string, code?: string) =>
  assert.throws(
    () => parseChatCompletionRequest(body),
    (e: unknown) =>
      e instanceof ApiError && e.status === 400 && e.param === param && (!code || e.code === code),
  );

test('system and developer messages become layered prompts; history maps to ChatMessages', () => {
  const parsed = parseChatCompletionRequest({
    model: 'herald',
    max_tokens: 10,
    max_completion_tokens: 20,
    messages: [
      { role: 'system', content: 'one' },
      { role: 'developer', content: [{ type: 'text', text: 'two' }] },
      { role: 'user', content: 'hi', name: 'ann' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'terminal', arguments: '{"command":"ls"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: 'a.txt' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'There is a.txt' }] },
      { role: 'user', content: 'thanks' },
    ],
  });
  assert.deepEqual(parsed.systemPrompts, ['one', 'two']);
  assert.equal(parsed.sampling.maxTokens, 20, 'max_completion_tokens wins over max_tokens');
  assert.deepEqual(parsed.messages, [
    { role: 'user', content: 'hi', name: 'ann' },
    {
      role: 'assistant',
      content: null,
      toolCalls: [{ id: 'c1', name: 'terminal', arguments: '{"command":"ls"}' }],
    },
    { role: 'tool', toolCallId: 'c1', content: 'a.txt' },
    { role: 'assistant', content: 'There is a.txt' },
    { role: 'user', content: 'thanks' },
  ]);
});

test('a system or developer message after the conversation started stays in place, never hoisted', () => {
  const parsed = parseChatCompletionRequest({
    messages: [
      { role: 'system', content: 'You are ChatGPT. Current time: 10:00:01' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'system', content: 'Summarize the discussion briefly in 200 words or less.' },
      { role: 'developer', content: 'In English.' },
    ],
  });
  assert.deepEqual(parsed.systemPrompts, ['You are ChatGPT. Current time: 10:00:01']);
  assert.deepEqual(parsed.messages, [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'system', content: 'Summarize the discussion briefly in 200 words or less.' },
    { role: 'system', content: 'In English.' },
  ]);
});

test('image parts with http(s) or data URLs pass through as content parts', () => {
  const parsed = parseChatCompletionRequest({
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } },
          { type: 'image_url', image_url: 'data:image/jpeg;base64,AAAA' },
        ],
      },
    ],
  });
  assert.deepEqual(parsed.messages[0], {
    role: 'user',
    content: [
      { type: 'text', text: 'look' },
      { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } },
      { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAAA' } },
    ],
  });
});

test('include_usage only counts when streaming', () => {
  const base = { messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } };
  assert.equal(parseChatCompletionRequest({ ...base, stream: true }).includeUsage, true);
  assert.equal(parseChatCompletionRequest(base).includeUsage, false);
});

test('what Herald cannot honour is a 400 naming the param', () => {
  rejectsWith({ n: 3, messages: [{ role: 'user', content: 'x' }] }, 'n');
  rejectsWith({ messages: [] }, 'messages');
  rejectsWith({ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role');
  rejectsWith({ messages: [{ role: 'system', content: 'only a system prompt' }] }, 'messages');
  rejectsWith(
    { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'f' } }] }] },
    'messages[0].content[0]',
    'unsupported_content_type',
  );
  rejectsWith({ temperature: 5, messages: [{ role: 'user', content: 'x' }] }, 'temperature');
});
