/**
 * The Responses API end to end: a real Herald server (real Agent, SQLite store) against the scripted
 * upstream, driven by the official `openai` SDK and by raw fetch where the wire format itself matters.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { parseSse, responseEvents, startTestServer, type TestServer, waitFor } from './api-test-server.ts';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t?.close();
});
// Isolation: turns a failed test left queued (a `hang`, a slow stream) must not be answered to the next
// test's requests — that turned one agent bug into a cascade of unrelated failures and 20 s timeouts.
afterEach(() => {
  t?.upstream.clear();
});

/** The last upstream request's chat messages. */
// biome-ignore lint/suspicious/noExplicitAny: upstream bodies are arbitrary JSON
function lastUpstreamMessages(): any[] {
  return t.upstream.requests.at(-1)?.body.messages;
}

async function postRaw(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${t.baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
}

describe('POST /v1/responses', { timeout: 60_000 }, () => {
  it('answers a string input with a complete Response object and real usage', async () => {
    t.upstream.enqueue({ text: 'Hello from Herald', usage: { prompt_tokens: 11, completion_tokens: 4 } });
    const response = await t.client.responses.create({ model: 'herald', input: 'Say hello' });
    assert.match(response.id, /^resp_/);
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, 'Hello from Herald');
    for (const key of [
      'created_at',
      'model',
      'output',
      'error',
      'incomplete_details',
      'instructions',
      'tools',
      'parallel_tool_calls',
      'metadata',
      'tool_choice',
      'temperature',
      'top_p',
    ]) {
      assert.ok(key in response, `missing ${key}`);
    }
    const message = response.output[0];
    assert.equal(message?.type, 'message');
    assert.match(message?.id ?? '', /^msg_/);
    assert.deepEqual(response.usage, {
      input_tokens: 11,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 15,
    });
    assert.deepEqual(lastUpstreamMessages().at(-1), { role: 'user', content: 'Say hello' });
    const retrieved = await t.client.responses.retrieve(response.id);
    assert.equal(retrieved.output_text, 'Hello from Herald');
  });

  it('streams event:+data: frames in order with sequence numbers from 0 and consistent ids', async () => {
    t.upstream.enqueue({ text: ['Hel', 'lo ', 'world'] });
    const res = await postRaw('/responses', { model: 'herald', input: 'hi', stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = responseEvents(await res.text());
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    assert.deepEqual(
      events.map((e) => e.type),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    const responseId = events[0].response.id;
    assert.equal(events[0].response.status, 'in_progress');
    assert.equal(events[0].response.usage, null);
    const itemId = events[2].item.id;
    for (const e of events.slice(3, 10)) assert.equal(e.item_id ?? e.item?.id, itemId);
    assert.equal(events[7].text, 'Hello world');
    const completed = events.at(-1).response;
    assert.equal(completed.id, responseId);
    assert.equal(completed.status, 'completed');
    assert.equal(completed.output[0].id, itemId);
    assert.equal(typeof completed.usage.input_tokens, 'number');
    assert.equal(typeof completed.usage.output_tokens, 'number');
  });

  it('is accepted by the SDK stream helper: responses.stream().finalResponse()', async () => {
    t.upstream.enqueue({ text: 'streamed answer' });
    const stream = t.client.responses.stream({ model: 'herald', input: 'go' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, 'streamed answer');
    assert.equal(deltas.join(''), 'streamed answer');
    assert.equal((await t.client.responses.retrieve(final.id)).status, 'completed');
  });

  it('continues a previous_response_id chain without inheriting instructions', async () => {
    t.upstream.enqueue({ text: 'Arr, first' }, { text: 'second' }, { text: 'third' });
    const first = await t.client.responses.create({
      model: 'herald',
      input: 'one',
      instructions: 'Talk like a pirate.',
    });
    assert.match(lastUpstreamMessages()[0].content, /Talk like a pirate/);
    const second = await t.client.responses.create({
      model: 'herald',
      input: 'two',
      previous_response_id: first.id,
    });
    assert.equal(second.previous_response_id, first.id);
    assert.equal(second.instructions, null);
    const messages = lastUpstreamMessages();
    assert.doesNotMatch(messages[0].content, /pirate/);
    assert.deepEqual(messages.slice(1), [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'Arr, first' },
      { role: 'user', content: 'two' },
    ]);
    await t.client.responses.create({ model: 'herald', input: 'three', previous_response_id: second.id });
    assert.deepEqual(
      lastUpstreamMessages()
        .slice(1)
        .map((m: { content: string }) => m.content),
      ['one', 'Arr, first', 'two', 'second', 'three'],
    );
  });

  it('keeps a named conversation across turns and lists its items', async () => {
    t.upstream.enqueue({ text: 'noted' }, { text: 'you said remember 42' });
    const first = await t.client.responses.create({
      model: 'herald',
      input: 'remember 42',
      conversation: 'work-a',
    });
    const conversationId = first.conversation?.id;
    assert.match(conversationId ?? '', /^conv_/);
    const second = await t.client.responses.create({
      model: 'herald',
      input: 'what?',
      conversation: 'work-a',
    });
    assert.equal(second.conversation?.id, conversationId);
    assert.deepEqual(
      lastUpstreamMessages()
        .slice(1)
        .map((m: { content: string }) => m.content),
      ['remember 42', 'noted', 'what?'],
    );
    // By id too, as `{ id }`.
    t.upstream.enqueue({ text: 'third' });
    await t.client.responses.create({
      model: 'herald',
      input: 'again',
      conversation: { id: conversationId! },
    });
    assert.equal(lastUpstreamMessages().length, 1 + 5);

    const items = [];
    for await (const item of t.client.conversations.items.list(conversationId!, { order: 'asc', limit: 2 })) {
      items.push(item);
    }
    assert.equal(items.length, 6);
    assert.deepEqual(
      items.map((i) => (i.type === 'message' ? i.role : i.type)),
      ['user', 'assistant', 'user', 'assistant', 'user', 'assistant'],
    );
  });

  it('runs two requests on one conversation one after the other', async () => {
    t.upstream.enqueue({ text: 'slow first', delayMs: 150 }, { text: 'second' });
    const [a, b] = await Promise.all([
      t.client.responses.create({ model: 'herald', input: 'A', conversation: 'serial' }),
      t.client.responses.create({ model: 'herald', input: 'B', conversation: 'serial' }),
    ]);
    assert.equal(a.output_text, 'slow first');
    assert.equal(b.output_text, 'second');
    assert.deepEqual(
      lastUpstreamMessages()
        .slice(1)
        .map((m: { content: string }) => m.content),
      ['A', 'slow first', 'B'],
    );
  });

  it('rejects previous_response_id with conversation (400) and unknown ids (404)', async () => {
    const first = await t.client.responses.create({ model: 'herald', input: 'x' });
    await assert.rejects(
      t.client.responses.create({
        model: 'herald',
        input: 'y',
        previous_response_id: first.id,
        conversation: 'c',
      }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'conversation',
    );
    await assert.rejects(
      t.client.responses.create({ model: 'herald', input: 'y', previous_response_id: 'resp_nope' }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && e.param === 'previous_response_id',
    );
    await assert.rejects(
      t.client.responses.create({ model: 'herald', input: 'y', conversation: 'conv_nope' }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && e.param === 'conversation',
    );
    await assert.rejects(t.client.responses.retrieve('resp_nope'), OpenAI.NotFoundError);
  });

  it('rejects file inputs with 400 unsupported_content_type naming the param', async () => {
    await assert.rejects(
      t.client.responses.create({
        model: 'herald',
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'read this' },
              { type: 'input_file', file_data: 'data:application/pdf;base64,AAAA', filename: 'a.pdf' },
            ],
          },
        ],
      }),
      (e: unknown) =>
        e instanceof OpenAI.BadRequestError &&
        e.code === 'unsupported_content_type' &&
        e.param === 'input[0].content[1]',
    );
  });

  it('passes input_image parts through to the upstream as image_url', async () => {
    await t.client.responses.create({
      model: 'herald',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'what is this?' },
            { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' },
          ],
        },
      ],
    });
    assert.deepEqual(lastUpstreamMessages().at(-1).content, [
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
    ]);
  });

  it('stores nothing with store: false', async () => {
    const response = await t.client.responses.create({ model: 'herald', input: 'secret', store: false });
    assert.equal((response as unknown as { store: boolean }).store, false);
    await assert.rejects(t.client.responses.retrieve(response.id), OpenAI.NotFoundError);
    await assert.rejects(
      t.client.responses.create({ model: 'herald', input: 'next', previous_response_id: response.id }),
      OpenAI.NotFoundError,
    );
  });

  it('deletes a response, then GET is 404', async () => {
    const response = await t.client.responses.create({ model: 'herald', input: 'to delete' });
    const raw = await fetch(`${t.baseURL}/responses/${response.id}`, { method: 'DELETE' });
    assert.deepEqual(await raw.json(), { id: response.id, object: 'response', deleted: true });
    await assert.rejects(t.client.responses.retrieve(response.id), OpenAI.NotFoundError);
    await assert.rejects(t.client.responses.delete(response.id), OpenAI.NotFoundError);
  });

  it('lists input items with paging (SDK auto-paging) and desc by default', async () => {
    const input = ['a', 'b', 'c', 'd', 'e'].map((text) => ({ role: 'user' as const, content: text }));
    const response = await t.client.responses.create({ model: 'herald', input });
    const asc = [];
    for await (const item of t.client.responses.inputItems.list(response.id, { order: 'asc', limit: 2 })) {
      asc.push(item);
    }
    assert.deepEqual(
      asc.map((i) => (i.type === 'message' ? (i.content[0] as { text: string }).text : '')),
      ['a', 'b', 'c', 'd', 'e'],
    );
    const page = (await (
      await fetch(`${t.baseURL}/responses/${response.id}/input_items?limit=2`)
    ).json()) as {
      object: string;
      has_more: boolean;
      first_id: string;
      last_id: string;
      data: { id: string; content: { text: string }[] }[];
    };
    assert.equal(page.object, 'list');
    assert.equal(page.has_more, true);
    assert.deepEqual(
      page.data.map((i) => i.content[0]?.text),
      ['e', 'd'],
    );
    assert.equal(page.first_id, page.data[0]?.id);
    assert.equal(page.last_id, page.data[1]?.id);
    const bad = await fetch(`${t.baseURL}/responses/${response.id}/input_items?limit=101`);
    assert.equal(bad.status, 400);
  });

  it('resolves item_reference inputs from stored items, and rejects unknown ones', async () => {
    t.upstream.enqueue({ text: 'The capital is Paris.' });
    const first = await t.client.responses.create({ model: 'herald', input: 'Capital of France?' });
    const [inputItem] = (await t.client.responses.inputItems.list(first.id)).data;
    const outputId = first.output[0]!.id!;
    await t.client.responses.create({
      model: 'herald',
      input: [
        { type: 'item_reference', id: inputItem!.id! },
        { type: 'item_reference', id: outputId },
        { role: 'user', content: 'And of Spain?' },
      ],
    });
    assert.deepEqual(lastUpstreamMessages().slice(1), [
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'The capital is Paris.' },
      { role: 'user', content: 'And of Spain?' },
    ]);
    await assert.rejects(
      t.client.responses.create({
        model: 'herald',
        input: [{ type: 'item_reference', id: 'msg_unknown' }],
      }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'input[0].id',
    );
  });

  it('maps function_call / function_call_output input items to tool turns', async () => {
    await t.client.responses.create({
      model: 'herald',
      input: [
        { role: 'user', content: 'weather?' },
        { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'rainy' },
        { role: 'user', content: 'so?' },
      ],
    });
    const messages = lastUpstreamMessages().slice(1);
    assert.equal(messages[1].role, 'assistant');
    assert.equal(messages[1].tool_calls[0].id, 'call_1');
    assert.equal(messages[1].tool_calls[0].function.name, 'weather');
    assert.deepEqual(messages[2], { role: 'tool', tool_call_id: 'call_1', content: 'rainy' });
  });

  it("shows the agent's tool calls as hosted mcp_call items while streaming, and replays them in a chain", async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_read', name: 'read_file', arguments: { path: 'missing.txt' } }] },
      { text: 'The file does not exist.' },
    );
    const res = await postRaw('/responses', { model: 'herald', input: 'read missing.txt', stream: true });
    const events = responseEvents(await res.text());
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 9), [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.mcp_call_arguments.delta',
      'response.mcp_call_arguments.done',
      'response.mcp_call.in_progress',
      'response.mcp_call.failed',
      'response.output_item.done',
      'response.output_item.added',
    ]);
    assert.equal(events[2].item.type, 'mcp_call');
    assert.equal(events[2].item.server_label, 'herald');
    assert.equal(events[2].item.name, 'read_file');
    assert.deepEqual(JSON.parse(events[4].arguments), { path: 'missing.txt' });
    const done = events[7].item;
    assert.equal(done.status, 'failed');
    assert.ok(done.output.length > 0);
    assert.equal(done.error, done.output);
    assert.equal(types.includes('response.function_call_arguments.delta'), false);
    const completed = events.at(-1).response;
    assert.equal(completed.status, 'completed');
    assert.deepEqual(
      completed.output.map((i: { type: string }) => i.type),
      ['mcp_call', 'message'],
    );

    t.upstream.enqueue({ text: 'ok then' });
    await t.client.responses.create({ model: 'herald', input: 'thanks', previous_response_id: completed.id });
    const messages = lastUpstreamMessages().slice(1);
    assert.deepEqual(
      messages.map((m: { role: string }) => m.role),
      ['user', 'assistant', 'tool', 'assistant', 'user'],
    );
    assert.equal(messages[1].tool_calls[0].function.name, 'read_file');
    assert.equal(messages[2].tool_call_id, messages[1].tool_calls[0].id);
    assert.equal(messages[2].content, done.output);
  });

  it('gives the SDK stream helper text and parallel hosted tool calls with their results', async () => {
    t.upstream.enqueue(
      {
        text: 'Let me check.',
        toolCalls: [
          { id: 'call_a', name: 'read_file', arguments: { path: 'a.txt' } },
          { id: 'call_b', name: 'read_file', arguments: { path: 'b.txt' } },
        ],
      },
      { text: 'Neither exists.' },
    );
    const final = await t.client.responses.stream({ model: 'herald', input: 'read both' }).finalResponse();
    assert.equal(final.status, 'completed');
    const shape = final.output.map((o) =>
      o.type === 'mcp_call' ? `mcp_call:${JSON.parse(o.arguments).path}:${o.status}` : o.type,
    );
    assert.deepEqual(shape, ['message', 'mcp_call:a.txt:failed', 'mcp_call:b.txt:failed', 'message']);
    assert.deepEqual(await t.client.responses.retrieve(final.id).then((r) => r.output.length), 4);
  });

  it('ends a stream whose upstream fails with response.failed and stores it failed', async () => {
    t.upstream.enqueue({ status: 500 });
    const res = await postRaw('/responses', { model: 'herald', input: 'boom', stream: true });
    const events = responseEvents(await res.text());
    const last = events.at(-1);
    assert.equal(last.type, 'response.failed');
    assert.equal(last.response.status, 'failed');
    assert.equal(typeof last.response.error.message, 'string');
    assert.equal(typeof last.response.error.code, 'string');
    assert.equal((await t.client.responses.retrieve(last.response.id)).status, 'failed');
  });

  it('answers a failed non-streamed run with an HTTP error, not an empty success', async () => {
    t.upstream.enqueue({ status: 500 });
    await assert.rejects(
      t.client.responses.create({ model: 'herald', input: 'boom' }),
      (e: unknown) => e instanceof OpenAI.APIError && (e.status ?? 0) >= 500,
    );
  });

  it('aborts the run when the client disconnects and stores it as cancelled with the partial output', async () => {
    t.upstream.enqueue({ text: ['partial ', 'answer', ' never finished'], chunkDelayMs: 5_000 });
    const before = t.upstream.aborted;
    const controller = new AbortController();
    const res = await postRaw(
      '/responses',
      { model: 'herald', input: 'long', stream: true },
      controller.signal,
    );
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('response.output_text.delta')) {
      const { value, done } = await reader.read();
      if (done) assert.fail(`the stream ended before any text: ${text}`);
      text += new TextDecoder().decode(value);
    }
    const id = JSON.parse(parseSse(text)[0]!.data).response.id as string;
    controller.abort();
    const stored = await waitFor(async () => {
      const r = await t.client.responses.retrieve(id);
      return r.status === 'in_progress' ? undefined : r;
    }, 'the cancelled response');
    assert.equal(stored.status, 'cancelled');
    assert.equal(stored.output_text, 'partial ');
    await waitFor(async () => (t.upstream.aborted > before ? true : undefined), 'the upstream abort');
  });

  it('cancels a running response through POST /responses/:id/cancel', async () => {
    t.upstream.enqueue({ hang: true });
    const res = await postRaw('/responses', { model: 'herald', input: 'wait', stream: true });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    const id = JSON.parse(parseSse(new TextDecoder().decode(value))[0]!.data).response.id as string;
    await t.upstream.waitForRequests(t.upstream.requests.length + 1);
    const cancelled = await t.client.responses.cancel(id);
    assert.equal(cancelled.status, 'cancelled');
    let rest = '';
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      rest += new TextDecoder().decode(chunk.value);
    }
    assert.equal(JSON.parse(parseSse(rest).at(-2)!.data).response.status, 'cancelled');
    assert.equal(parseSse(rest).at(-1)?.data, '[DONE]');
  });

  it('echoes metadata and accepts ignored fields clients send', async () => {
    const response = await t.client.responses.create({
      model: 'gpt-4o-mini',
      input: 'hi',
      metadata: { ticket: 'T-1' },
      temperature: 0.2,
      top_p: 0.9,
      max_output_tokens: 256,
      user: 'u1',
      text: { format: { type: 'text' } },
      reasoning: { effort: 'low' },
      tools: [{ type: 'function', name: 'f', parameters: {}, strict: false }],
      parallel_tool_calls: false,
      truncation: 'disabled',
    });
    assert.deepEqual(response.metadata, { ticket: 'T-1' });
    assert.equal(response.temperature, 0.2);
    assert.equal(response.max_output_tokens, 256);
    assert.equal(response.model, 'herald');
    assert.equal(
      t.upstream.requests.at(-1)?.body.max_tokens ?? t.upstream.requests.at(-1)?.body.max_completion_tokens,
      256,
    );
  });
});

describe('/v1/conversations', { timeout: 30_000 }, () => {
  it('concurrent first uses of a conversation name all get the same conversation and keep every turn', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t.client.responses.create({ model: 'herald', input: `race turn ${i}`, conversation: 'race-name' }),
      ),
    );
    const ids = new Set(results.map((r) => (r.conversation as { id: string }).id));
    assert.equal(ids.size, 1);
    const items = await t.client.conversations.items.list([...ids][0]!, { limit: 100 });
    assert.equal(items.data.length, 16);
  });

  it('creates, retrieves, updates and deletes conversations and their items with the SDK', async () => {
    const conversation = await t.client.conversations.create({
      metadata: { topic: 'demo' },
      items: [{ type: 'message', role: 'user', content: 'seed question' }],
    });
    assert.match(conversation.id, /^conv_/);
    assert.equal(conversation.object, 'conversation');
    assert.deepEqual(conversation.metadata, { topic: 'demo' });
    assert.equal((await t.client.conversations.retrieve(conversation.id)).id, conversation.id);
    const updated = await t.client.conversations.update(conversation.id, { metadata: { topic: 'changed' } });
    assert.deepEqual(updated.metadata, { topic: 'changed' });

    const added = await t.client.conversations.items.create(conversation.id, {
      items: [{ type: 'message', role: 'assistant', content: 'seed answer' }],
    });
    assert.equal(added.data.length, 1);
    const addedId = added.data[0]!.id!;
    const item = await t.client.conversations.items.retrieve(addedId, { conversation_id: conversation.id });
    assert.equal(item.type, 'message');

    t.upstream.enqueue({ text: 'continuing' });
    await t.client.responses.create({ model: 'herald', input: 'next', conversation: conversation.id });
    assert.deepEqual(
      lastUpstreamMessages()
        .slice(1)
        .map((m: { content: string }) => m.content),
      ['seed question', 'seed answer', 'next'],
    );
    const list = await t.client.conversations.items.list(conversation.id);
    assert.equal(list.data.length, 4);
    assert.equal(list.data[0]?.type, 'message');

    await t.client.conversations.items.delete(addedId, { conversation_id: conversation.id });
    assert.equal((await t.client.conversations.items.list(conversation.id)).data.length, 3);
    const deleted = await t.client.conversations.delete(conversation.id);
    assert.equal(deleted.deleted, true);
    await assert.rejects(t.client.conversations.retrieve(conversation.id), OpenAI.NotFoundError);
  });
});

describe('max iterations', { timeout: 30_000 }, () => {
  it('ends a run that hit agent.max_iterations as incomplete', async () => {
    const limited = await startTestServer({ config: { agent: { max_iterations: 1 } } });
    try {
      limited.upstream.enqueue({ toolCalls: [{ name: 'read_file', arguments: { path: 'x.txt' } }] });
      const response = await limited.client.responses.create({ model: 'herald', input: 'loop' });
      assert.equal(response.status, 'incomplete');
      assert.deepEqual(response.incomplete_details, { reason: 'max_output_tokens' });
    } finally {
      await limited.close();
    }
  });
});
