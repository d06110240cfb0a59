import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { ScriptedUpstream } from './scripted-upstream.ts';

describe('ScriptedUpstream', () => {
  let upstream: ScriptedUpstream;
  let client: OpenAI;

  before(async () => {
    upstream = await ScriptedUpstream.start();
    client = new OpenAI({ baseURL: upstream.url, apiKey: 'test-key', maxRetries: 0 });
  });
  after(() => upstream.close());

  test('streams text in chunks with a final usage chunk when include_usage is asked', async () => {
    upstream.enqueue({ text: 'Hello world!' });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'abcdefgh' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) pieces.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) {
        assert.equal(chunk.choices.length, 0);
        usage = chunk.usage;
      }
    }
    assert.deepEqual(pieces, ['Hell', 'o wo', 'rld!']);
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    const recorded = upstream.requests.at(-1);
    assert.equal(recorded?.path, '/v1/chat/completions');
    assert.equal(recorded?.headers.authorization, 'Bearer test-key');
    assert.equal(recorded?.body.stream, true);
  });

  test('usageOnFinishChunk: no usage key until the finish chunk, which carries the totals', async () => {
    upstream.enqueue({
      text: 'Hello',
      usageOnFinishChunk: true,
      usage: { prompt_tokens: 3, completion_tokens: 2 },
    });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    assert.equal(last.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(last.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    for (const chunk of chunks.slice(0, -1)) assert.ok(!('usage' in chunk), JSON.stringify(chunk));
  });

  test('usage false: no usage key on any chunk, even with include_usage', async () => {
    upstream.enqueue({ text: 'Hello', usage: false });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let count = 0;
    for await (const chunk of stream) {
      count++;
      assert.ok(!('usage' in chunk), JSON.stringify(chunk));
    }
    assert.ok(count > 2);
  });

  test('answers non-streamed requests with a chat.completion JSON body', async () => {
    upstream.enqueue({ text: 'plain', usage: { prompt_tokens: 7, completion_tokens: 1 } });
    const res = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(res.choices[0]?.message.content, 'plain');
    assert.equal(res.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(res.usage, { prompt_tokens: 7, completion_tokens: 1, total_tokens: 8 });
  });

  test('streams tool calls as a head fragment then argument pieces', async () => {
    upstream.enqueue({
      toolCalls: [{ id: 'call_1', name: 'terminal', arguments: { command: 'ls -la /tmp' } }],
    });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const fragments: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      assert.equal(chunk.usage, undefined, 'no usage without include_usage');
      fragments.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.deepEqual(fragments[0], {
      index: 0,
      id: 'call_1',
      type: 'function',
      function: { name: 'terminal', arguments: '' },
    });
    assert.ok(fragments.length > 2);
    const args = fragments.map((f) => f.function?.arguments ?? '').join('');
    assert.deepEqual(JSON.parse(args), { command: 'ls -la /tmp' });
    assert.equal(finish, 'tool_calls');
  });

  test('answers a scripted 429 with its Retry-After header', async () => {
    upstream.enqueue({ status: 429, retryAfter: '2' });
    await assert.rejects(
      client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal(err.status, 429);
        assert.equal(err.headers?.get('retry-after'), '2');
        return true;
      },
    );
  });

  test('cuts the stream after N chunks without sending [DONE]', async () => {
    upstream.enqueue({ text: ['a', 'b', 'c', 'd'], cutAfterChunks: 3, chunkDelayMs: 1 });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const pieces: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta.content ?? '');
    });
    assert.deepEqual(pieces, ['', 'a', 'b'], 'the role chunk, then two text chunks');
    assert.equal(upstream.aborted, 0, 'a server-side cut is not a client abort');
  });

  test('counts a client that disconnects from a hanging request as aborted', async () => {
    upstream.enqueue({ hang: true });
    const before = upstream.requests.length;
    const controller = new AbortController();
    const pending = client.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'x' }] },
      { signal: controller.signal },
    );
    await upstream.waitForRequests(before + 1);
    controller.abort();
    await assert.rejects(pending);
    for (let i = 0; i < 200 && upstream.aborted === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(upstream.aborted, 1);
  });

  test('clear() drops queued turns so the responder answers again', async () => {
    upstream.enqueue({ hang: true }, { text: 'left over' });
    assert.equal(upstream.pending, 2);
    assert.equal(upstream.clear(), 2);
    assert.equal(upstream.pending, 0);
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'ok');
  });

  test('lists a model on GET /v1/models', async () => {
    const models = await client.models.list();
    assert.equal(models.data[0]?.id, 'scripted-model');
  });
});
