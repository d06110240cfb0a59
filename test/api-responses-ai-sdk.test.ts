/**
 * The Vercel AI SDK's Responses model (`@ai-sdk/openai` `.responses()`) against a real Herald server:
 * generateText and streamText, replayed assistant turns sent as `item_reference` (store defaults to
 * true), and chaining through `providerOptions.openai.previousResponseId` — with and without the agent
 * using tools, which every client sees as hosted `mcp_call` items whatever its User-Agent (the
 * deprecated `api_server.responses.tool_items` setting still loads and changes nothing).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, type ModelMessage, streamText } from 'ai';
import { createLogger } from '../src/logger.ts';
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

describe('@ai-sdk/openai after the agent used tools (hosted mcp_call items)', {
  timeout: 30_000,
}, () => {
  it("generateText succeeds and sees the agent's tool use as provider-executed calls", async () => {
    t.upstream.enqueue(
      { text: 'Checking.', toolCalls: [{ id: 'call_r', name: 'read_file', arguments: { path: 'm.txt' } }] },
      { text: 'There is no m.txt.', usage: { prompt_tokens: 30, completion_tokens: 6 } },
    );
    const one = await generateText({ model: model(), prompt: 'read m.txt', maxRetries: 0 });
    assert.equal(one.finishReason, 'stop');
    // The agent separates the text before and after its tool use with a blank line.
    assert.equal(one.text, 'Checking.\n\nThere is no m.txt.');
    const call = one.content.find((part) => part.type === 'tool-call');
    assert.equal(call?.toolName, 'mcp.read_file');
    assert.equal(call?.providerExecuted, true);
    assert.ok(one.content.some((part) => part.type === 'tool-result'));
    // The stored response is the same one the openai SDK would retrieve, in the style the AI SDK got.
    const stored = await t.client.responses.retrieve(String(one.providerMetadata?.openai?.responseId));
    assert.deepEqual(
      stored.output.map((item) => item.type),
      ['message', 'mcp_call', 'message'],
    );
  });

  it('streamText streams the answer and finishes with stop', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_s', name: 'read_file', arguments: { path: 'm.txt' } }] },
      { text: ['no ', 'file'] },
    );
    const result = streamText({ model: model(), prompt: 'read', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, 'no file');
    assert.equal(await result.finishReason, 'stop');
  });

  it("replays a tool-using turn by reference: the model sees the agent's calls and results again", async () => {
    t.upstream.enqueue(
      { text: 'Checking.', toolCalls: [{ id: 'call_p', name: 'read_file', arguments: { path: 'p.txt' } }] },
      { text: 'No p.txt.' },
      { text: 'second' },
    );
    const first: ModelMessage[] = [{ role: 'user', content: 'read p.txt' }];
    const one = await generateText({ model: model(), messages: first, maxRetries: 0 });
    const two = await generateText({
      model: model(),
      messages: [...first, ...one.response.messages, { role: 'user', content: 'and?' }],
      maxRetries: 0,
    });
    assert.equal(two.text, 'second');
    assert.equal(two.finishReason, 'stop');
    const sent = t.upstream.requests.at(-1)?.body.messages.slice(1);
    assert.deepEqual(
      sent.map((msg: { role: string }) => msg.role),
      ['user', 'assistant', 'tool', 'assistant', 'user'],
    );
    assert.equal(sent[1].tool_calls[0].function.name, 'read_file');
    assert.equal(sent[2].tool_call_id, sent[1].tool_calls[0].id);
  });

  it('chains a tool-using turn through previousResponseId', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_c', name: 'read_file', arguments: { path: 'c.txt' } }] },
      { text: 'No c.txt.' },
      { text: 'Still no c.txt.' },
    );
    const one = await generateText({ model: model(), prompt: 'read c.txt', maxRetries: 0 });
    const two = await generateText({
      model: model(),
      prompt: 'sure?',
      maxRetries: 0,
      providerOptions: { openai: { previousResponseId: String(one.providerMetadata?.openai?.responseId) } },
    });
    assert.equal(two.text, 'Still no c.txt.');
    const sent = t.upstream.requests.at(-1)?.body.messages.slice(1);
    assert.deepEqual(
      sent.map((msg: { role: string }) => msg.role),
      ['user', 'assistant', 'tool', 'assistant', 'user'],
    );
  });

  it("the provider's default model (openai('id'), the Responses API) works too", async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_d', name: 'read_file', arguments: { path: 'd.txt' } }] },
      { text: 'No d.txt.' },
    );
    const provider = createOpenAI({ baseURL: t.baseURL, apiKey: 'not-needed' });
    const result = await generateText({ model: provider('herald'), prompt: 'read d.txt', maxRetries: 0 });
    assert.equal(result.text, 'No d.txt.');
    assert.equal(result.finishReason, 'stop');
  });

  it('the openai SDK on the same server gets the same hosted mcp_call items', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_o', name: 'read_file', arguments: { path: 'o.txt' } }] },
      { text: 'No o.txt.' },
    );
    const response = await t.client.responses.create({ model: 'herald', input: 'read o.txt' });
    assert.deepEqual(
      response.output.map((item) => item.type),
      ['mcp_call', 'message'],
    );
  });
});

/** The User-Agent the AI SDK (ai@7, @ai-sdk/openai@4) sends from Node, as captured from a real request. */
const aiSdkUserAgent = 'ai/7.0.173 ai-sdk-provider-utils/5.0.81 node.js/24';

async function toolRunItemTypes(server: TestServer, userAgent: string): Promise<string[]> {
  server.upstream.enqueue(
    { toolCalls: [{ id: 'call_x', name: 'read_file', arguments: { path: 'x.txt' } }] },
    { text: 'No x.txt.' },
  );
  const res = await fetch(`${server.baseURL}/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ model: 'herald', input: 'read x.txt' }),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { output: { type: string }[] };
  return body.output.map((item) => item.type);
}

describe('hosted tool items do not depend on the client', { timeout: 30_000 }, () => {
  it('every User-Agent gets mcp_call items, never function_call items', async () => {
    for (const userAgent of [aiSdkUserAgent, 'OpenAI/JS 6.9.1', 'curl/8.5.0']) {
      assert.deepEqual(await toolRunItemTypes(t, userAgent), ['mcp_call', 'message'], userAgent);
    }
  });

  it('the deprecated tool_items setting still loads with a warning and changes nothing, even function_call', async (c) => {
    const lines: { event?: string; setting?: string }[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    const f = await startTestServer({
      apiServer: { responses: { tool_items: 'function_call' } },
      logger: createLogger('info', sink),
    });
    c.after(() => f.close());
    assert.ok(
      lines.some((l) => l.event === 'config.deprecated' && l.setting === 'api_server.responses.tool_items'),
      'a startup warning names the key',
    );
    assert.deepEqual(await toolRunItemTypes(f, 'OpenAI/JS 6.9.1'), ['mcp_call', 'message']);
    const mcpModel = createOpenAI({ baseURL: f.baseURL, apiKey: 'not-needed' }).responses('herald');
    f.upstream.enqueue(
      { toolCalls: [{ id: 'call_s', name: 'read_file', arguments: { path: 'm.txt' } }] },
      { text: 'no file' },
    );
    const result = streamText({ model: mcpModel, prompt: 'read', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.equal(text, 'no file');
    assert.equal(await result.finishReason, 'stop');
  });
});
