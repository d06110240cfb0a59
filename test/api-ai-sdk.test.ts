/**
 * The Vercel AI SDK's OpenAI provider in Chat Completions mode (`.chat()`) against a real Herald server:
 * generateText and streamText get the answer, the finish reason and the usage, with tool progress events
 * in the stream not disturbing it.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import { startTestServer, type TestServer } from './api-test-server.ts';

describe('Vercel AI SDK (.chat)', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  // A test that fails early must not leave its scripted replies to the next test.
  afterEach(() => h?.upstream.clear());
  after(() => h.close());

  const model = () => createOpenAI({ baseURL: h.baseURL, apiKey: 'unused' }).chat('herald');

  test('generateText gets the answer, finish reason and usage', async () => {
    h.upstream.enqueue({ text: 'Hello from Herald', usage: { prompt_tokens: 20, completion_tokens: 3 } });
    const result = await generateText({ model: model(), prompt: 'hi', maxRetries: 0 });
    assert.equal(result.text, 'Hello from Herald');
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.usage.inputTokens, 20);
    assert.equal(result.usage.outputTokens, 3);
  });

  test('streamText streams the answer through tool progress events', async () => {
    h.upstream.enqueue(
      {
        toolCalls: [{ name: 'terminal', arguments: { command: 'echo sdk' } }],
        usage: { prompt_tokens: 10, completion_tokens: 2 },
      },
      { text: 'Streamed through the AI SDK', usage: { prompt_tokens: 30, completion_tokens: 5 } },
    );
    const result = streamText({ model: model(), prompt: 'run something', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, 'Streamed through the AI SDK');
    assert.equal(await result.finishReason, 'stop');
    const usage = await result.usage;
    assert.equal(usage.inputTokens, 40);
    assert.equal(usage.outputTokens, 7);
  });
});
