import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScriptedUpstream } from '../../test/support/scripted-upstream.ts';
import {
  type ChatMessage,
  createModelClient,
  isModelConfigured,
  MODEL_NOT_CONFIGURED_MESSAGE,
  type ModelClient,
  type ModelConfig,
  type ModelDelta,
  ModelError,
  type ModelRequest,
  RunAbortedError,
} from './index.ts';

const API_KEY = 'sk-secret-key-12345';

function configFor(url: string, overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    base_url: url,
    api_key: API_KEY,
    model: 'test-model',
    timeout_s: 5,
    max_retries: 3,
    mid_conversation_system: 'system',
    supports_images: false,
    ...overrides,
  };
}

function request(content = 'Hello there', extra: Partial<ModelRequest> = {}): ModelRequest {
  return { model: 'test-model', messages: [{ role: 'user', content }], ...extra };
}

async function collect(client: ModelClient, req: ModelRequest, signal = new AbortController().signal) {
  const deltas: ModelDelta[] = [];
  for await (const delta of client.stream(req, signal)) deltas.push(delta);
  return deltas;
}

function textOf(deltas: ModelDelta[]): string {
  return deltas.map((d) => (d.type === 'text' ? d.text : '')).join('');
}

function finishOf(deltas: ModelDelta[]) {
  const last = deltas.at(-1);
  assert.equal(last?.type, 'finish');
  return last as Extract<ModelDelta, { type: 'finish' }>;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ModelError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ModelError, `expected ModelError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('OpenAIModelClient', () => {
  let upstream: ScriptedUpstream;
  let client: ModelClient;

  before(async () => {
    upstream = await ScriptedUpstream.start();
    client = createModelClient(configFor(upstream.url), { retryBaseMs: 1 });
  });
  after(() => upstream.close());

  test('streams text deltas as they arrive and passes the upstream usage through', async () => {
    upstream.enqueue({ text: ['Hel', 'lo', ' world'], usage: { prompt_tokens: 11, completion_tokens: 3 } });
    const deltas = await collect(client, request());
    assert.deepEqual(
      deltas.filter((d) => d.type === 'text').map((d) => d.text),
      ['Hel', 'lo', ' world'],
    );
    const finish = finishOf(deltas);
    assert.equal(finish.finishReason, 'stop');
    assert.deepEqual(finish.toolCalls, []);
    assert.deepEqual(finish.usage, {
      promptTokens: 11,
      completionTokens: 3,
      totalTokens: 14,
      estimated: false,
    });
    const sent = upstream.requests.at(-1);
    assert.equal(sent?.body.stream, true);
    assert.deepEqual(sent?.body.stream_options, { include_usage: true });
    assert.equal(sent?.body.model, 'test-model');
    assert.equal(sent?.body.max_tokens, undefined, 'max_tokens is only sent when given');
  });

  for (const style of ['reasoning_content', 'reasoning', 'reasoning_details', 'openrouter'] as const) {
    test(`streams ${style} reasoning as reasoning deltas, apart from the answer text`, async () => {
      upstream.enqueue({ reasoning: ['Think', 'ing.'], reasoningStyle: style, text: 'Answer' });
      const deltas = await collect(client, request());
      // OpenRouter sends each piece in two fields: it must arrive once.
      assert.deepEqual(
        deltas.filter((d) => d.type === 'reasoning').map((d) => d.text),
        ['Think', 'ing.'],
      );
      assert.equal(textOf(deltas), 'Answer');
    });
  }

  test('reports the reasoning tokens the upstream counts', async () => {
    upstream.enqueue({
      reasoning: 'Hmm.',
      text: 'Yes',
      usage: { prompt_tokens: 5, completion_tokens: 9 },
      reasoningTokens: 7,
    });
    const finish = finishOf(await collect(client, request()));
    assert.equal(finish.usage.completionTokens, 9);
    assert.equal(finish.usage.reasoningTokens, 7);
  });

  test('maps messages and tools to the OpenAI wire format and sends max_tokens when given', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'List files' },
      {
        role: 'assistant',
        content: null,
        toolCalls: [{ id: 'call_1', name: 'terminal', arguments: '{"command":"ls"}' }],
      },
      { role: 'tool', toolCallId: 'call_1', content: 'a.txt' },
    ];
    const tools = [{ name: 'terminal', description: 'Run a command', parameters: { type: 'object' } }];
    await collect(client, { model: 'test-model', messages, tools, maxTokens: 256, temperature: 0.2 });
    const body = upstream.requests.at(-1)?.body;
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'List files' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'terminal', arguments: '{"command":"ls"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'a.txt' },
    ]);
    assert.deepEqual(body.tools, [
      {
        type: 'function',
        function: { name: 'terminal', description: 'Run a command', parameters: { type: 'object' } },
      },
    ]);
    assert.equal(body.max_tokens, 256);
    assert.equal(body.temperature, 0.2);
  });

  test('reassembles two interleaved tool calls from their fragments', async () => {
    upstream.enqueue({
      text: 'Checking.',
      interleaveToolCalls: true,
      toolCalls: [
        { id: 'call_a', name: 'read_file', arguments: { path: 'src/some/long/path/file.ts' } },
        { id: 'call_b', name: 'terminal', arguments: { command: 'echo hello world && ls -la' } },
      ],
    });
    const deltas = await collect(client, request());
    const fragments = deltas.filter((d) => d.type === 'tool-call-delta');
    assert.ok(fragments.length > 4);
    // Interleaved on the wire: both calls are open before either is complete.
    assert.deepEqual(
      fragments.slice(0, 4).map((f) => f.index),
      [0, 1, 0, 1],
    );
    assert.deepEqual(fragments[0], { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'read_file' });
    const finish = finishOf(deltas);
    assert.equal(finish.finishReason, 'tool_calls');
    assert.deepEqual(finish.toolCalls, [
      { id: 'call_a', name: 'read_file', arguments: '{"path":"src/some/long/path/file.ts"}' },
      { id: 'call_b', name: 'terminal', arguments: '{"command":"echo hello world && ls -la"}' },
    ]);
    assert.equal(textOf(deltas), 'Checking.');
  });

  test('estimates usage with a tokenizer when the upstream sends none', async () => {
    upstream.enqueue({ text: 'The quick brown fox jumps over the lazy dog.', usage: false });
    const finish = finishOf(await collect(client, request('Tell me about foxes, please.')));
    assert.equal(finish.usage.estimated, true);
    assert.ok(finish.usage.promptTokens >= 7, `prompt ${finish.usage.promptTokens}`);
    assert.ok(finish.usage.completionTokens >= 9 && finish.usage.completionTokens <= 15);
    assert.equal(finish.usage.totalTokens, finish.usage.promptTokens + finish.usage.completionTokens);
  });

  test('retries a 429 after the Retry-After the upstream asked for, then succeeds', async () => {
    const before = upstream.requests.length;
    upstream.enqueue({ status: 429, retryAfter: '0.3' }, { text: 'after the wait' });
    const deltas = await collect(client, request());
    assert.equal(textOf(deltas), 'after the wait');
    assert.equal(upstream.requests.length, before + 2);
    const [first, second] = upstream.requests.slice(before);
    assert.ok(second!.receivedAt - first!.receivedAt >= 250, 'waited for Retry-After, not the 1 ms base');
  });

  test('retries 500 twice, then succeeds', async () => {
    const before = upstream.requests.length;
    upstream.enqueue({ status: 500 }, { status: 503 }, { text: 'third time' });
    assert.equal(textOf(await collect(client, request())), 'third time');
    assert.equal(upstream.requests.length, before + 3);
  });

  test('gives up after max_retries with the last error', async () => {
    const before = upstream.requests.length;
    const once = createModelClient(configFor(upstream.url, { max_retries: 1 }), { retryBaseMs: 1 });
    upstream.enqueue({ status: 429, retryAfter: '0' }, { status: 429, retryAfter: '7' });
    const error = await rejectsWith(collect(once, request()), 'upstream_rate_limited');
    assert.equal(error.retryAfterSeconds, 7);
    assert.equal(error.status, 429);
    assert.equal(upstream.requests.length, before + 2);
  });

  test('retries a stream cut before the first token', async () => {
    const before = upstream.requests.length;
    upstream.enqueue({ text: 'lost', cutAfterChunks: 1 }, { text: 'recovered' });
    assert.equal(textOf(await collect(client, request())), 'recovered');
    assert.equal(upstream.requests.length, before + 2);
  });

  test('does not retry a stream cut after the first token: upstream_stream_cut, one request', async () => {
    const before = upstream.requests.length;
    upstream.enqueue({ text: ['Hel', 'lo', ' there'], cutAfterChunks: 3 }, { text: 'must not be requested' });
    const seen: string[] = [];
    const run = (async () => {
      for await (const d of client.stream(request(), new AbortController().signal)) {
        if (d.type === 'text') seen.push(d.text);
      }
    })();
    await rejectsWith(run, 'upstream_stream_cut');
    assert.deepEqual(seen, ['Hel', 'lo']);
    assert.equal(upstream.requests.length, before + 1);
    // The spare turn is still queued, proving no retry consumed it; use it up so later tests start clean.
    assert.equal(textOf(await collect(client, request())), 'must not be requested');
  });

  test('a stream that ends without finish_reason and [DONE] is upstream_stream_cut', async () => {
    upstream.enqueue({ text: 'partial', omitFinish: true });
    await rejectsWith(collect(client, request()), 'upstream_stream_cut');
  });

  test('401 becomes upstream_auth without the API key in the message, not retried', async () => {
    const before = upstream.requests.length;
    upstream.enqueue({
      status: 401,
      errorBody: {
        error: { message: `Incorrect API key provided: ${API_KEY}`, type: 'invalid_request_error' },
      },
    });
    const error = await rejectsWith(collect(client, request()), 'upstream_auth');
    assert.equal(error.status, 401);
    assert.ok(!error.message.includes(API_KEY), error.message);
    assert.match(error.message, /HERALD_API_KEY/);
    assert.equal(upstream.requests.length, before + 1);
  });

  test('a context-length 400 becomes context_too_long', async () => {
    upstream.enqueue({
      status: 400,
      errorBody: {
        error: {
          message: "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.",
          type: 'invalid_request_error',
          code: 'context_length_exceeded',
        },
      },
    });
    const error = await rejectsWith(collect(client, request()), 'context_too_long');
    assert.equal(error.status, 400);
  });

  test('another 400 becomes upstream_bad_request carrying the upstream message', async () => {
    upstream.enqueue({ status: 400, errorBody: { error: { message: 'tools[0].name is invalid' } } });
    const error = await rejectsWith(collect(client, request()), 'upstream_bad_request');
    assert.match(error.message, /tools\[0\]\.name is invalid/);
  });

  test('an upstream that does not answer in timeout_s becomes upstream_timeout', async () => {
    const before = upstream.requests.length;
    const impatient = createModelClient(configFor(upstream.url, { timeout_s: 1 }), { retryBaseMs: 1 });
    upstream.enqueue({ hang: true });
    await rejectsWith(collect(impatient, request()), 'upstream_timeout');
    assert.equal(upstream.requests.length, before + 1, 'timeouts are not retried');
  });

  test('a stream that stalls mid-way for timeout_s becomes upstream_timeout', async () => {
    const impatient = createModelClient(configFor(upstream.url), { retryBaseMs: 1, timeoutMs: 200 });
    upstream.enqueue({ text: ['a', 'b'], chunkDelayMs: 10_000 });
    await rejectsWith(collect(impatient, request()), 'upstream_timeout');
  });

  test('aborting mid-stream throws RunAbortedError and closes the upstream connection', async () => {
    const abortedBefore = upstream.aborted;
    upstream.enqueue({ text: 'one two three four five six seven eight nine ten', chunkDelayMs: 20 });
    const controller = new AbortController();
    let caught: unknown;
    try {
      for await (const delta of client.stream(request(), controller.signal)) {
        if (delta.type === 'text') controller.abort();
      }
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof RunAbortedError, String(caught));
    await until(() => upstream.aborted > abortedBefore);
    assert.equal(upstream.aborted, abortedBefore + 1);
  });

  test('a consumer that stops reading early closes the upstream connection', async () => {
    const abortedBefore = upstream.aborted;
    upstream.enqueue({ text: 'one two three four five six seven eight nine ten', chunkDelayMs: 20 });
    for await (const delta of client.stream(request(), new AbortController().signal)) {
      if (delta.type === 'text') break;
    }
    await until(() => upstream.aborted > abortedBefore);
    assert.equal(upstream.aborted, abortedBefore + 1);
  });

  test('aborting while waiting for the upstream throws RunAbortedError without retrying', async () => {
    const before = upstream.requests.length;
    upstream.enqueue({ hang: true });
    const controller = new AbortController();
    const run = collect(client, request(), controller.signal);
    await upstream.waitForRequests(before + 1);
    controller.abort();
    await assert.rejects(run, RunAbortedError);
    assert.equal(upstream.requests.length, before + 1);
  });
});

describe('model client without a reachable or configured upstream', () => {
  test('connection refused becomes upstream_unavailable naming the base URL, after retries', async () => {
    const closed = await ScriptedUpstream.start();
    const url = closed.url;
    await closed.close();
    const client = createModelClient(configFor(url, { max_retries: 2 }), { retryBaseMs: 1 });
    const error = await rejectsWith(collect(client, request()), 'upstream_unavailable');
    assert.ok(error.message.includes(url), error.message);
    assert.ok(!error.message.includes(API_KEY));
  });

  test('a missing model configuration becomes upstream_not_configured with how to fix it', async () => {
    const config: ModelConfig = {
      timeout_s: 600,
      max_retries: 3,
      mid_conversation_system: 'system',
      supports_images: false,
    };
    assert.equal(isModelConfigured(config), false);
    assert.equal(isModelConfigured(configFor('http://127.0.0.1:1/v1')), true);
    const error = await rejectsWith(
      collect(createModelClient(config), { model: '', messages: [{ role: 'user', content: 'hi' }] }),
      'upstream_not_configured',
    );
    assert.equal(error.message, MODEL_NOT_CONFIGURED_MESSAGE);
    assert.match(error.message, /herald setup/);
    assert.match(error.message, /HERALD_BASE_URL/);
  });
});

describe('OpenAIModelClient.contextWindow', () => {
  test("reads the upstream's model list once and answers for any model from it", async () => {
    const upstream = await ScriptedUpstream.start({
      models: [
        { id: 'test-model', object: 'model', context_length: 32_000 },
        { id: 'other', object: 'model', max_model_len: 8_000 },
      ],
    });
    try {
      const client = createModelClient(configFor(upstream.url));
      assert.equal(await client.contextWindow?.('test-model'), 32_000);
      assert.equal(await client.contextWindow?.('other'), 8_000);
      assert.equal(await client.contextWindow?.('missing'), undefined);
      assert.equal(upstream.modelListRequests, 1);
    } finally {
      await upstream.close();
    }
  });

  test('an upstream that cannot list models yields no window, and no error', async () => {
    const closed = await ScriptedUpstream.start();
    const url = closed.url;
    await closed.close();
    const client = createModelClient(configFor(url));
    assert.equal(await client.contextWindow?.('test-model'), undefined);
    assert.equal(await client.contextWindow?.('test-model'), undefined);
  });
});
