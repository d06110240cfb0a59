/**
 * Chat Completions through a real Herald server, real agent and model client, against the scripted
 * upstream, driven by the official `openai` SDK and raw fetch: body shapes, stream invariants, usage,
 * tool progress in its modes (reasoning in test/api-reasoning.test.ts), images, prompt layering and the unprefixed aliases.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { parseSse, startTestServer, type TestServer } from './api-test-server.ts';

const user = (content: string) => ({ role: 'user' as const, content });

async function rawStream(h: TestServer, body: Record<string, unknown>, path = '/v1/chat/completions') {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'herald', stream: true, ...body }),
  });
  return { res, frames: parseSse(await res.text()) };
}

describe('chat completions', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  // A test that fails early must not leave its scripted replies to the next test.
  afterEach(() => h?.upstream.clear());
  after(() => h.close());

  test('a non-streamed completion has the OpenAI body shape and the summed usage', async () => {
    h.upstream.enqueue({ text: 'Hello there', usage: { prompt_tokens: 11, completion_tokens: 2 } });
    const { data, response } = await h.client.chat.completions
      .create({ model: 'herald', messages: [user('hi')] })
      .withResponse();
    assert.match(data.id, /^chatcmpl-/);
    assert.equal(data.object, 'chat.completion');
    assert.equal(typeof data.created, 'number');
    assert.equal(data.model, 'herald');
    assert.equal(data.choices.length, 1);
    const choice = data.choices[0]!;
    assert.deepEqual(
      { index: choice.index, role: choice.message.role, content: choice.message.content },
      { index: 0, role: 'assistant', content: 'Hello there' },
    );
    assert.equal(choice.message.refusal, null);
    assert.equal(choice.logprobs, null);
    assert.equal(choice.finish_reason, 'stop');
    assert.deepEqual(
      {
        prompt: data.usage?.prompt_tokens,
        completion: data.usage?.completion_tokens,
        total: data.usage?.total_tokens,
      },
      { prompt: 11, completion: 2, total: 13 },
    );
    assert.ok(response.headers.get('x-request-id'));
    assert.match(response.headers.get('x-herald-session-id') ?? '', /^hs_/);
  });

  test('usage sums every model call of a tool-using run', async () => {
    h.upstream.enqueue(
      {
        toolCalls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'x' } }],
        usage: { prompt_tokens: 100, completion_tokens: 10 },
      },
      { text: 'Written.', usage: { prompt_tokens: 150, completion_tokens: 5 } },
    );
    const data = await h.client.chat.completions.create({
      model: 'herald',
      messages: [user('write a note')],
    });
    assert.equal(data.choices[0]?.message.content, 'Written.');
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    assert.equal(data.usage?.prompt_tokens, 250);
    assert.equal(data.usage?.completion_tokens, 15);
    assert.equal(data.usage?.total_tokens, 265);
  });

  test('a stream follows the invariants: role first, one finish_reason, usage chunk, same id', async () => {
    h.upstream.enqueue({ text: 'Streaming works fine', usage: { prompt_tokens: 7, completion_tokens: 4 } });
    const stream = await h.client.chat.completions.create({
      model: 'herald',
      messages: [user('hi')],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const ids = new Set(chunks.map((c) => c.id));
    const created = new Set(chunks.map((c) => c.created));
    assert.equal(ids.size, 1);
    assert.equal(created.size, 1);
    assert.equal(chunks[0]?.choices[0]?.delta.role, 'assistant');
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason != null);
    assert.equal(finishes.length, 1);
    assert.equal(finishes[0]?.choices[0]?.finish_reason, 'stop');
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.total_tokens, 11);
    assert.equal(chunks.at(-2), finishes[0], 'the finish chunk is the last choice chunk');
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
    for (const c of chunks) {
      const role = c.choices[0]?.delta.role;
      if (role !== undefined) assert.equal(role, 'assistant');
    }
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Streaming works fine');
  });

  test('without include_usage no chunk carries usage and the raw stream ends with [DONE]', async () => {
    h.upstream.enqueue({ text: 'plain stream' });
    const { res, frames } = await rawStream(h, { messages: [user('hi')] });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    assert.ok(res.headers.get('x-request-id'));
    assert.match(res.headers.get('x-herald-session-id') ?? '', /^hs_/);
    assert.equal(frames.at(-1)?.data, '[DONE]');
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    for (const c of chunks) assert.equal('usage' in c, false);
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
  });

  test('streamed text equals the non-streamed text, and finalChatCompletion accepts the stream', async () => {
    h.upstream.enqueue({ text: 'Same answer both ways' }, { text: 'Same answer both ways' });
    const plain = await h.client.chat.completions.create({ model: 'herald', messages: [user('q')] });
    const final = await h.client.chat.completions
      .stream({ model: 'herald', messages: [user('q')], stream_options: { include_usage: true } })
      .finalChatCompletion();
    assert.equal(final.choices[0]?.message.content, plain.choices[0]?.message.content);
    assert.equal(final.choices[0]?.finish_reason, 'stop');
  });

  test('images pass through to the upstream model and caller system prompts layer on the core', async () => {
    h.upstream.enqueue({ text: 'A red dot.' });
    const before = h.upstream.requests.length;
    const image = 'data:image/png;base64,iVBORw0KGgo=';
    await h.client.chat.completions.create({
      model: 'herald',
      messages: [
        { role: 'system', content: 'Answer like a pirate.' },
        { role: 'developer', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: image, detail: 'low' } },
          ],
        },
      ],
      temperature: 0.3,
      max_tokens: 77,
      user: 'someone',
      frequency_penalty: 0,
      presence_penalty: 0,
      n: 1,
      logprobs: false,
    });
    const sent = h.upstream.requests[before]!.body;
    const system = sent.messages[0];
    assert.equal(system.role, 'system');
    assert.match(system.content, /Herald/);
    const pirate = system.content.indexOf('Answer like a pirate.');
    const brief = system.content.indexOf('Be brief.');
    assert.ok(pirate > 0 && brief > pirate, 'caller prompts come after the core prompt, in order');
    const lastUser = sent.messages.at(-1);
    assert.equal(lastUser.role, 'user');
    assert.deepEqual(
      lastUser.content.find((p: { type: string }) => p.type === 'image_url'),
      { type: 'image_url', image_url: { url: image, detail: 'low' } },
    );
  });

  test('every path answers without the /v1 prefix too', async () => {
    h.upstream.enqueue({ text: 'alias ok' });
    const res = await fetch(`${h.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'herald', messages: [user('hi')] }),
    });
    assert.equal(res.status, 200);
    const json = (await res.json()) as { choices: { message: { content: string } }[] };
    assert.equal(json.choices[0]?.message.content, 'alias ok');
    h.upstream.enqueue({ text: 'stream alias' });
    const { frames } = await rawStream(h, { messages: [user('hi')] }, '/chat/completions');
    assert.equal(frames.at(-1)?.data, '[DONE]');
    for (const path of ['/models', '/models/herald', '/capabilities', '/health', '/v1/health']) {
      assert.equal((await fetch(`${h.url}${path}`)).status, 200, path);
    }
  });

  test('GET /v1/models lists profiles, /v1/models/:id 404s unknown ids, /health and /v1/capabilities answer', async () => {
    const models = await h.client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['herald'],
    );
    assert.equal(models.data[0]?.object, 'model');
    assert.equal(typeof models.data[0]?.created, 'number');
    assert.equal(models.data[0]?.owned_by, 'herald');
    const one = await h.client.models.retrieve('herald');
    assert.equal(one.id, 'herald');
    await assert.rejects(h.client.models.retrieve('nope'), (error: { status: number; code: string }) => {
      assert.equal(error.status, 404);
      assert.equal(error.code, 'model_not_found');
      return true;
    });
    const health = await (await fetch(`${h.url}/health`)).json();
    assert.deepEqual(health, { status: 'ok', version: '0.0.0-test', runs: { running: 0, queued: 0 } });
    const caps = (await (await fetch(`${h.url}/v1/capabilities`)).json()) as {
      features: {
        streaming: boolean;
        tool_progress: { mode: string };
        client_tools: { types: string[] };
        hosted_tools: { responses_item: string };
      };
      auth: { required: boolean };
      endpoints: { path: string }[];
    };
    assert.equal(caps.features.streaming, true);
    assert.equal(caps.features.tool_progress.mode, 'reasoning');
    assert.deepEqual(caps.features.client_tools.types, ['function']);
    assert.equal(caps.features.hosted_tools.responses_item, 'mcp_call');
    assert.equal(caps.auth.required, false);
    assert.ok(caps.endpoints.some((e: { path: string }) => e.path === '/v1/chat/completions'));
    // Every advertised endpoint is really routed (unknown ids answer their own 404, never unknown_url).
    for (const endpoint of caps.endpoints as { method: string; path: string }[]) {
      const res = await fetch(`${h.url}${endpoint.path.replaceAll(/\{[a-z_]+\}/g, 'x')}`, {
        method: endpoint.method,
        ...(endpoint.method === 'POST'
          ? { headers: { 'content-type': 'application/json' }, body: '{}' }
          : {}),
      });
      // The status page and /metrics answer HTML and Prometheus text, never the JSON 404.
      const text = await res.text();
      const body = (
        res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : {}
      ) as {
        error?: { code?: string };
      };
      assert.notEqual(body.error?.code, 'unknown_url', `${endpoint.method} ${endpoint.path}`);
    }
  });

  test('an unknown model id is served by the default profile', async () => {
    h.upstream.enqueue({ text: 'title' });
    const data = await h.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [user('title?')] });
    assert.equal(data.choices[0]?.message.content, 'title');
    assert.equal(data.model, 'gpt-4o-mini');
  });
});

describe('finish_reason length', () => {
  test('is reported when the upstream output limit or agent.max_iterations ends the run', async (t) => {
    const h = await startTestServer({ config: { agent: { max_iterations: 1 } } });
    t.after(() => h.close());
    h.upstream.enqueue({ text: 'cut by the output lim', finishReason: 'length' });
    const cut = await h.client.chat.completions.create({ model: 'herald', messages: [user('long answer')] });
    assert.equal(cut.choices[0]?.finish_reason, 'length');
    assert.equal(cut.choices[0]?.message.content, 'cut by the output lim');

    h.upstream.enqueue({ toolCalls: [{ name: 'terminal', arguments: { command: 'echo loop' } }] });
    const final = await h.client.chat.completions
      .stream({ model: 'herald', messages: [user('keep going')] })
      .finalChatCompletion();
    assert.equal(final.choices[0]?.finish_reason, 'length');
    assert.ok(final.choices[0]?.message.content, 'the iteration cap ends with a clear message');
  });
});

describe('tool progress modes', () => {
  test('events sends herald.tool.progress events the SDK helper tolerates', async (t) => {
    const h = await startTestServer({ apiServer: { tool_progress: 'events' } });
    t.after(() => h.close());
    h.upstream.enqueue(
      { toolCalls: [{ id: 'call_1', name: 'terminal', arguments: { command: 'echo progress' } }] },
      { text: 'Done running.' },
    );
    const { frames } = await rawStream(h, { messages: [user('run it')] });
    const progress = frames.filter((f) => f.event === 'herald.tool.progress').map((f) => JSON.parse(f.data));
    assert.equal(progress.length, 2);
    assert.deepEqual(
      progress.map((p) => [p.tool, p.toolCallId, p.status]),
      [
        ['terminal', 'call_1', 'running'],
        ['terminal', 'call_1', 'completed'],
      ],
    );
    assert.match(progress[0].label, /echo progress/);
    assert.deepEqual(progress[0].choices, []);
    const text = frames
      .filter((f) => !f.event && f.data !== '[DONE]')
      .map((f) => JSON.parse(f.data).choices[0]?.delta.content ?? '')
      .join('');
    assert.equal(text, 'Done running.');

    h.upstream.enqueue(
      { toolCalls: [{ name: 'terminal', arguments: { command: 'echo again' } }] },
      { text: 'Again done.' },
    );
    const final = await h.client.chat.completions
      .stream({ model: 'herald', messages: [user('run again')] })
      .finalChatCompletion();
    assert.equal(final.choices[0]?.message.content, 'Again done.');
  });

  test('inline writes a short progress line into the content', async (t) => {
    const h = await startTestServer({ apiServer: { tool_progress: 'inline' } });
    t.after(() => h.close());
    h.upstream.enqueue(
      { toolCalls: [{ name: 'terminal', arguments: { command: 'echo inline' } }] },
      { text: 'Ok.' },
    );
    const { frames } = await rawStream(h, { messages: [user('go')] });
    assert.equal(frames.filter((f) => f.event).length, 0, 'no named events in inline mode');
    const text = frames
      .filter((f) => f.data !== '[DONE]')
      .map((f) => JSON.parse(f.data).choices[0]?.delta.content ?? '')
      .join('');
    assert.match(text, /^> ⚙ .*echo inline.*\n\nOk\.$/s);
  });

  test('off sends no progress at all', async (t) => {
    const h = await startTestServer({ apiServer: { tool_progress: 'off' } });
    t.after(() => h.close());
    h.upstream.enqueue(
      { toolCalls: [{ name: 'terminal', arguments: { command: 'echo off' } }] },
      { text: 'Quiet.' },
    );
    const { frames } = await rawStream(h, { messages: [user('go')] });
    assert.equal(frames.filter((f) => f.event).length, 0);
    const text = frames
      .filter((f) => f.data !== '[DONE]')
      .map((f) => JSON.parse(f.data).choices[0]?.delta.content ?? '')
      .join('');
    assert.equal(text, 'Quiet.');
  });

  test('heartbeat comments flow while nothing else is sent', async (t) => {
    const h = await startTestServer({ apiServer: { heartbeat_s: 1 } });
    t.after(() => h.close());
    h.upstream.enqueue({ text: 'late', delayMs: 2_300 });
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'herald', stream: true, messages: [user('slow')] }),
    });
    const body = await res.text();
    assert.match(body, /^: keep-alive$/m);
    assert.match(body, /data: \[DONE\]\n\n$/);
  });
});
