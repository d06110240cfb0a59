/**
 * The Vercel AI SDK's Responses model (`@ai-sdk/openai` `.responses()`) against a real Herald server:
 * generateText and streamText, replayed assistant turns sent as `item_reference` (store defaults to
 * true), and chaining through `providerOptions.openai.previousResponseId`.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, type ModelMessage, streamText } from 'ai';
import { startTestServer, type TestServer } from './api-test-server.ts';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
// A test that fails early must not leave its scripted replies to the next test.
afterEach(() => t?.upstream.clear());
after(async () => {
  await t?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: upstream bodies are arbitrary JSON
const upstreamContents = (): any[] =>
  t.upstream.requests
    .at(-1)
    ?.body.messages.slice(1)
    .map((m: { content: unknown }) => m.content);

function model() {
  const provider = createOpenAI({ baseURL: t.baseURL, apiKey: 'not-needed' });
  return provider.responses('herald');
}

describe('@ai-sdk/openai responses model', { timeout: 30_000 }, () => {
  it('generateText answers and returns the response id', async () => {
    t.upstream.enqueue({ text: 'Hi from Herald', usage: { prompt_tokens: 20, completion_tokens: 3 } });
    const result = await generateText({ model: model(), prompt: 'hello', maxRetries: 0 });
    assert.equal(result.text, 'Hi from Herald');
    assert.equal(result.usage.inputTokens, 20);
    assert.equal(result.usage.outputTokens, 3);
    assert.match(String(result.providerMetadata?.openai?.responseId), /^resp_/);
  });

  it('replays an earlier assistant turn as item_reference, which Herald resolves', async () => {
    t.upstream.enqueue({ text: 'Paris.' }, { text: 'Madrid.' });
    const first: ModelMessage[] = [{ role: 'user', content: 'Capital of France?' }];
    const one = await generateText({ model: model(), messages: first, maxRetries: 0 });
    const messages: ModelMessage[] = [
      ...first,
      ...one.response.messages,
      { role: 'user', content: 'And Spain?' },
    ];
    const two = await generateText({ model: model(), messages, maxRetries: 0 });
    assert.equal(two.text, 'Madrid.');
    // The replayed assistant turn arrived as a reference to the stored output item, not as text.
    const firstOutputId = (
      await t.client.responses.retrieve(String(one.providerMetadata?.openai?.responseId))
    ).output[0]?.id;
    const inputs = await t.client.responses.inputItems.list(
      String(two.providerMetadata?.openai?.responseId),
      {
        order: 'asc',
      },
    );
    assert.ok(inputs.data.some((item) => item.id === firstOutputId));
    assert.deepEqual(upstreamContents(), ['Capital of France?', 'Paris.', 'And Spain?']);
  });

  it('chains two calls through previousResponseId', async () => {
    t.upstream.enqueue({ text: 'Noted: blue.' }, { text: 'Blue.' });
    const one = await generateText({ model: model(), prompt: 'My colour is blue.', maxRetries: 0 });
    const two = await generateText({
      model: model(),
      prompt: 'What is my colour?',
      maxRetries: 0,
      providerOptions: { openai: { previousResponseId: String(one.providerMetadata?.openai?.responseId) } },
    });
    assert.equal(two.text, 'Blue.');
    assert.deepEqual(upstreamContents(), ['My colour is blue.', 'Noted: blue.', 'What is my colour?']);
  });

  it('streamText streams the text with usage and a response id', async () => {
    t.upstream.enqueue({ text: ['Str', 'eam', 'ed!'], usage: { prompt_tokens: 9, completion_tokens: 3 } });
    const result = streamText({ model: model(), prompt: 'stream please', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, 'Streamed!');
    const usage = await result.usage;
    assert.equal(usage.inputTokens, 9);
    assert.equal(usage.outputTokens, 3);
    assert.equal(await result.finishReason, 'stop');
    const metadata = await result.providerMetadata;
    const id = String(metadata?.openai?.responseId);
    const stored = await t.client.responses.retrieve(id);
    assert.equal(stored.output_text, 'Streamed!');
  });
});

describe('@ai-sdk/openai responses model with api_server.responses.tool_items: mcp_call', {
  timeout: 30_000,
}, () => {
  let m: TestServer;
  before(async () => {
    m = await startTestServer({ apiServer: { responses: { tool_items: 'mcp_call' } } });
  });
  after(async () => {
    await m?.close();
  });
  const mcpModel = () => createOpenAI({ baseURL: m.baseURL, apiKey: 'not-needed' }).responses('herald');

  it("sees the agent's tool use as provider-executed calls and replays them by reference", async () => {
    m.upstream.enqueue(
      { text: 'Checking.', toolCalls: [{ id: 'call_r', name: 'read_file', arguments: { path: 'm.txt' } }] },
      { text: 'There is no m.txt.' },
    );
    const first: ModelMessage[] = [{ role: 'user', content: 'read m.txt' }];
    const one = await generateText({ model: mcpModel(), messages: first, maxRetries: 0 });
    assert.equal(one.finishReason, 'stop');
    assert.match(one.text, /There is no m\.txt\./);
    const call = one.content.find((part) => part.type === 'tool-call');
    assert.equal(call?.toolName, 'mcp.read_file');
    assert.equal(call?.providerExecuted, true);
    assert.ok(one.content.some((part) => part.type === 'tool-result'));

    m.upstream.enqueue({ text: 'second' });
    await generateText({
      model: mcpModel(),
      messages: [...first, ...one.response.messages, { role: 'user', content: 'and?' }],
      maxRetries: 0,
    });
    const sent = m.upstream.requests.at(-1)?.body.messages.slice(1);
    assert.deepEqual(
      sent.map((msg: { role: string }) => msg.role),
      ['user', 'assistant', 'tool', 'assistant', 'user'],
    );
    assert.equal(sent[1].tool_calls[0].function.name, 'read_file');
    assert.equal(sent[2].tool_call_id, sent[1].tool_calls[0].id);
  });

  it('streamText finishes with stop after a tool run', async () => {
    m.upstream.enqueue(
      { toolCalls: [{ id: 'call_s', name: 'read_file', arguments: { path: 'm.txt' } }] },
      { text: 'no file' },
    );
    const result = streamText({ model: mcpModel(), prompt: 'read', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.match(text, /no file/);
    assert.equal(await result.finishReason, 'stop');
  });
});
