/**
 * The API server's failure paths, end to end: the bad-input matrix (malformed JSON, wrong content type,
 * oversize body, n>1, empty messages, file parts, unknown routes and strict models), upstream failures
 * before and during a stream, empty answers, no model configured, and the concurrency limit — each with
 * an OpenAI-shaped error body and an x-request-id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { APIError } from 'openai';
import { parseSse, startTestServer, type TestServer } from './api-test-server.ts';

const user = (content: string) => ({ role: 'user' as const, content });

async function post(h: TestServer, path: string, body: string, contentType = 'application/json') {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  const text = await res.text();
  return { res, status: res.status, body: text ? JSON.parse(text) : undefined };
}

function assertErrorShape(body: { error: Record<string, unknown> }) {
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof body.error.message, 'string');
}

describe('bad input', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer({ apiServer: { max_body_bytes: 4096 } });
  });
  after(() => h.close());

  const chat = '/v1/chat/completions';
  const cases: {
    name: string;
    body: string;
    contentType?: string;
    status: number;
    code?: string;
    param?: string;
  }[] = [
    { name: 'malformed JSON', body: '{"model": "herald", "messages": [', status: 400, code: 'invalid_json' },
    {
      name: 'a text/plain body',
      body: JSON.stringify({ messages: [user('hi')] }),
      contentType: 'text/plain',
      status: 415,
    },
    {
      name: 'a form body',
      body: 'model=herald',
      contentType: 'application/x-www-form-urlencoded',
      status: 415,
    },
    {
      name: 'a body over max_body_bytes',
      body: JSON.stringify({ model: 'herald', messages: [user('x'.repeat(5000))] }),
      status: 413,
    },
    {
      name: 'n > 1',
      body: JSON.stringify({ model: 'herald', n: 2, messages: [user('hi')] }),
      status: 400,
      param: 'n',
    },
    { name: 'missing messages', body: JSON.stringify({ model: 'herald' }), status: 400, param: 'messages' },
    {
      name: 'empty messages',
      body: JSON.stringify({ model: 'herald', messages: [] }),
      status: 400,
      param: 'messages',
    },
    {
      name: 'a bad role',
      body: JSON.stringify({ model: 'herald', messages: [{ role: 'wizard', content: 'x' }] }),
      status: 400,
      param: 'messages[0].role',
    },
    {
      name: 'a file part',
      body: JSON.stringify({
        model: 'herald',
        messages: [user('first'), { role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }],
      }),
      status: 400,
      code: 'unsupported_content_type',
      param: 'messages[1].content[0]',
    },
    {
      name: 'an input_audio part',
      body: JSON.stringify({
        model: 'herald',
        messages: [
          { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] },
        ],
      }),
      status: 400,
      code: 'unsupported_content_type',
      param: 'messages[0].content[0]',
    },
    {
      name: 'a non-image URL in an image part',
      body: JSON.stringify({
        model: 'herald',
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] },
        ],
      }),
      status: 400,
      param: 'messages[0].content[0].image_url.url',
    },
    {
      name: 'a tool message without tool_call_id',
      body: JSON.stringify({ model: 'herald', messages: [user('hi'), { role: 'tool', content: 'x' }] }),
      status: 400,
      param: 'messages[1].tool_call_id',
    },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status}${c.param ? ` naming ${c.param}` : ''}`, async () => {
      const before = h.upstream.requests.length;
      const { res, status, body } = await post(h, chat, c.body, c.contentType);
      assert.equal(status, c.status);
      assertErrorShape(body);
      if (c.code) assert.equal(body.error.code, c.code);
      if (c.param) assert.equal(body.error.param, c.param);
      assert.ok(res.headers.get('x-request-id'));
      assert.equal(h.upstream.requests.length, before, 'no agent run');
    });
  }

  test('unknown fields that clients send are accepted and ignored', async () => {
    h.upstream.enqueue({ text: 'fine' });
    const { status, body } = await post(
      h,
      chat,
      JSON.stringify({
        model: 'herald',
        messages: [user('hi')],
        stream_options: { include_usage: true },
        user: 'u1',
        metadata: { a: 'b' },
        frequency_penalty: 0,
        presence_penalty: 0,
        max_completion_tokens: 100,
        logprobs: false,
        seed: 3,
        tools: [{ type: 'function', function: { name: 'x', parameters: {} } }],
        some_future_field: { nested: true },
      }),
    );
    assert.equal(status, 200);
    assert.equal(body.choices[0].message.content, 'fine');
  });

  test('an unknown route is a 404 unknown_url naming the method and path', async () => {
    const { status, body } = await post(h, '/v1/v1/chat/completions', '{}');
    assert.equal(status, 404);
    assert.equal(body.error.code, 'unknown_url');
    assert.match(body.error.message, /^Unknown request URL: POST \/v1\/v1\/chat\/completions/);
    const get = await fetch(`${h.url}/v2/whatever`);
    assert.equal(get.status, 404);
    assert.equal(((await get.json()) as { error: { code: string } }).error.code, 'unknown_url');
  });

  test('the client x-request-id is echoed, otherwise one is generated', async () => {
    const echoed = await fetch(`${h.url}/v1/models`, { headers: { 'x-request-id': 'my-trace-123' } });
    assert.equal(echoed.headers.get('x-request-id'), 'my-trace-123');
    const generated = await fetch(`${h.url}/v1/models`);
    assert.match(generated.headers.get('x-request-id') ?? '', /^req_[a-f0-9]{32}$/);
  });
});

describe('strict models', () => {
  test('an unknown model is a 404 model_not_found when strict_models is on; profiles are listed', async (t) => {
    const h = await startTestServer({
      apiServer: { strict_models: true },
      config: { profiles: { coder: { system_prompt: 'You write code.' } } },
    });
    t.after(() => h.close());
    await assert.rejects(
      h.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [user('hi')] }),
      (error: APIError) =>
        error.status === 404 && error.code === 'model_not_found' && error.param === 'model',
    );
    assert.equal(h.upstream.requests.length, 0);
    const ids = (await h.client.models.list()).data.map((m) => m.id);
    assert.deepEqual(ids, ['herald', 'coder']);
    h.upstream.enqueue({ text: 'code' });
    await h.client.chat.completions.create({ model: 'coder', messages: [user('hi')] });
    assert.match(h.upstream.requests[0]!.body.messages[0].content, /You write code\./);
  });
});

describe('upstream and agent failures', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  after(() => h.close());

  test('a stream cut mid-way ends with the error as visible text, then an error chunk and [DONE]', async () => {
    h.upstream.enqueue({ text: 'This answer will be cut off somewhere in the middle', cutAfterChunks: 3 });
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'herald', stream: true, messages: [user('hi')] }),
    });
    const frames = parseSse(await res.text());
    assert.equal(frames.at(-1)?.data, '[DONE]');
    const errorFrame = JSON.parse(frames.at(-2)!.data);
    assertErrorShape(errorFrame);
    assert.equal(errorFrame.error.code, 'upstream_stream_cut');
    // Frontends that drop the error frame still show the failure (api_server.stream_errors default).
    const chunks = frames.slice(0, -2).map((f) => JSON.parse(f.data));
    const finishes = chunks.filter((c) => c.choices?.[0]?.finish_reason);
    assert.deepEqual(
      finishes.map((c) => c.choices[0].finish_reason),
      ['stop'],
    );
    assert.equal(chunks.at(-1), finishes[0], 'the finish chunk comes right before the error frame');
    assert.match(chunks.at(-2).choices[0].delta.content, /^\n\n⚠️ Error: .+/);

    h.upstream.enqueue({ text: 'This answer will be cut off somewhere in the middle', cutAfterChunks: 3 });
    const stream = await h.client.chat.completions.create({
      model: 'herald',
      stream: true,
      messages: [user('x')],
    });
    await assert.rejects(
      (async () => {
        for await (const _ of stream) {
        }
      })(),
      APIError,
    );
  });

  test('a run that ends without any text is a 502 agent_incomplete', async () => {
    h.upstream.enqueue({ text: '' });
    await assert.rejects(
      h.client.chat.completions.create({ model: 'herald', messages: [user('hi')] }),
      (error: APIError) => error.status === 502 && error.code === 'agent_incomplete',
    );
  });

  test('an upstream failure before any text keeps its status: 429 with retry-after', async () => {
    h.upstream.enqueue({ status: 429, retryAfter: '7' });
    const { status, res, body } = await post(
      h,
      '/v1/chat/completions',
      JSON.stringify({ model: 'herald', messages: [user('hi')] }),
    );
    assert.equal(status, 429);
    assert.equal(res.headers.get('retry-after'), '7');
    assertErrorShape(body);
  });

  test('a streamed request that fails before any text gets an HTTP error status, not a 200 stream', async () => {
    h.upstream.enqueue({ status: 500 });
    const { status, body } = await post(
      h,
      '/v1/chat/completions',
      JSON.stringify({ model: 'herald', stream: true, messages: [user('hi')] }),
    );
    assert.equal(status, 502);
    assertErrorShape(body);
  });
});

describe('no model configured', () => {
  test('agent endpoints answer 503 with the fix; info endpoints still work', async (t) => {
    const h = await startTestServer({ noModel: true });
    t.after(() => h.close());
    for (const stream of [false, true]) {
      const { status, body } = await post(
        h,
        '/v1/chat/completions',
        JSON.stringify({ model: 'herald', stream, messages: [user('hi')] }),
      );
      assert.equal(status, 503);
      assert.equal(body.error.code, 'upstream_not_configured');
      assert.match(body.error.message, /HERALD_BASE_URL|herald setup/);
    }
    assert.equal((await fetch(`${h.url}/v1/models`)).status, 200);
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
  });
});

describe('concurrency limit', () => {
  test('without a run queue, past max_concurrent_runs a request gets 429 with Retry-After, and slots free up after', async (t) => {
    const h = await startTestServer({ apiServer: { max_concurrent_runs: 1, max_queued_runs: 0 } });
    t.after(() => h.close());
    h.upstream.enqueue({ text: 'slow one', delayMs: 400 });
    const first = h.client.chat.completions.create({ model: 'herald', messages: [user('one')] });
    await h.upstream.waitForRequests(1);
    const { status, res, body } = await post(
      h,
      '/v1/chat/completions',
      JSON.stringify({ model: 'herald', messages: [user('two')] }),
    );
    assert.equal(status, 429);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal((await first).choices[0]?.message.content, 'slow one');
    h.upstream.enqueue({ text: 'now fine' });
    const again = await h.client.chat.completions.create({ model: 'herald', messages: [user('three')] });
    assert.equal(again.choices[0]?.message.content, 'now fine');
  });
});
