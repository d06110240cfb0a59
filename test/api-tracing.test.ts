/**
 * OpenTelemetry traces end to end: a real API server traced as serve traces it, exporting through the
 * real OTLP/HTTP exporter to a fake collector on loopback, driven with the official `openai` SDK. Each
 * test starts its own tracing and shuts it down (which flushes) before reading what the collector got.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { z } from 'zod';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { silentLogger } from '../src/logger.ts';
import { startTracing, type Tracing } from '../src/observability/index.ts';
import type { AnyTool } from '../src/tools/index.ts';
import { startTestServer, type TestServer } from './api-test-server.ts';
import { type CollectedSpan, OtlpCollector } from './support/otlp-collector.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const API_KEY = 'sk-herald-tracing-test-key-0001';
const COLLECTOR_TOKEN = 'collector-token-0002';
const PROMPT = 'What does the secret note 7f3a say?';
const SECRET_ARGUMENT = 'password=hunter2-0003';
const TOOL_OUTPUT = 'The note says: launch codes 0004';
const ANSWER = 'The note is about launch codes.';
/** Strings that must appear in no span attribute: content, arguments, outputs and every key. */
const NEVER_RECORDED = [
  API_KEY,
  COLLECTOR_TOKEN,
  PROMPT,
  SECRET_ARGUMENT,
  TOOL_OUTPUT,
  ANSWER,
  'upstream-key',
];

/** An MCP server's tool as `McpClients` offers it: named `<server>__<tool>`, with its origin. */
const lookupTool: AnyTool = {
  name: 'docs__lookup',
  description: 'Looks a note up.',
  schema: z.object({ query: z.string() }),
  origin: { server: 'docs', tool: 'lookup' },
  label: () => 'docs: lookup',
  execute: async () => TOOL_OUTPUT,
};

let upstream: ScriptedUpstream;
let collector: OtlpCollector;
let tracing: Tracing | undefined;
let server: TestServer | undefined;

beforeEach(async () => {
  upstream = await ScriptedUpstream.start();
  collector = await OtlpCollector.start();
});
afterEach(async () => {
  await server?.close();
  await tracing?.shutdown();
  server = undefined;
  tracing = undefined;
  await upstream.close();
  await collector.close();
});

async function startTraced(tracingConfig: Record<string, unknown> = {}): Promise<TestServer> {
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, model: 'scripted-model' },
      tracing: {
        enabled: true,
        endpoint: collector.endpoint,
        service_name: 'herald-test',
        headers: { 'x-collector-token': COLLECTOR_TOKEN },
        ...tracingConfig,
      },
    }),
    home: '/nonexistent',
  };
  tracing = await startTracing(config, { logger: silentLogger(), version: '0.0.0-test' });
  assert.ok(tracing);
  server = await startTestServer({
    upstream,
    tracing,
    apiServer: { keys: [API_KEY] },
    mcpTools: () => [lookupTool],
  });
  return server;
}

/** Stops the server and flushes the spans to the collector. */
async function flush(): Promise<CollectedSpan[]> {
  await server?.close();
  await tracing?.shutdown();
  tracing = undefined;
  return collector.spans;
}

describe('tracing on', () => {
  test('a streamed chat completion with a tool call: request → agent run → model and tool spans', async () => {
    const { client } = await startTraced();
    upstream.enqueue(
      { toolCalls: [{ id: 'call_1', name: 'docs__lookup', arguments: { query: SECRET_ARGUMENT } }] },
      { text: ANSWER },
    );
    const stream = await client.chat.completions.create(
      { model: 'herald', messages: [{ role: 'user', content: PROMPT }], stream: true },
      { headers: { 'x-request-id': 'req-traced-1' } },
    );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, ANSWER);

    const spans = await flush();
    const request = collector.span('POST /v1/chat/completions');
    const run = collector.span('invoke_agent herald');
    const tool = collector.span('execute_tool docs__lookup');
    const models = spans.filter((span) => span.name === 'chat scripted-model');
    assert.equal(models.length, 2);

    assert.equal(request.parentSpanId, '');
    assert.equal(request.kind, 2);
    assert.deepEqual(
      pick(request.attributes, [
        'http.request.method',
        'http.route',
        'url.path',
        'http.response.status_code',
        'herald.request_id',
      ]),
      {
        'http.request.method': 'POST',
        'http.route': '/v1/chat/completions',
        'url.path': '/v1/chat/completions',
        'http.response.status_code': 200,
        'herald.request_id': 'req-traced-1',
      },
    );
    assert.equal(run.parentSpanId, request.spanId);
    assert.deepEqual(
      pick(run.attributes, [
        'gen_ai.operation.name',
        'herald.platform',
        'herald.outcome',
        'herald.tool_calls',
      ]),
      {
        'gen_ai.operation.name': 'invoke_agent',
        'herald.platform': 'api',
        'herald.outcome': 'ok',
        'herald.tool_calls': 1,
      },
    );
    for (const model of models) {
      assert.equal(model.parentSpanId, run.spanId);
      assert.equal(model.kind, 3);
      assert.equal(model.attributes['gen_ai.request.model'], 'scripted-model');
      assert.equal(model.attributes['gen_ai.operation.name'], 'chat');
      assert.equal(model.attributes['server.address'], '127.0.0.1');
      assert.equal(model.attributes['server.port'], Number(new URL(upstream.url).port));
      assert.equal(model.attributes['herald.outcome'], 'ok');
      assert.equal(typeof model.attributes['gen_ai.usage.input_tokens'], 'number');
      assert.equal(typeof model.attributes['gen_ai.usage.output_tokens'], 'number');
    }
    assert.deepEqual(
      models.map((model) => model.attributes['gen_ai.response.finish_reasons']),
      [['tool_calls'], ['stop']],
    );
    assert.equal(
      run.attributes['gen_ai.usage.input_tokens'],
      models.reduce((sum, model) => sum + Number(model.attributes['gen_ai.usage.input_tokens']), 0),
    );
    assert.equal(tool.parentSpanId, run.spanId);
    assert.deepEqual(
      pick(tool.attributes, [
        'gen_ai.tool.name',
        'herald.mcp.server',
        'herald.mcp.tool',
        'herald.outcome',
        'herald.tool.arguments_bytes',
        'herald.tool.output_bytes',
      ]),
      {
        'gen_ai.tool.name': 'docs__lookup',
        'herald.mcp.server': 'docs',
        'herald.mcp.tool': 'lookup',
        'herald.outcome': 'ok',
        'herald.tool.arguments_bytes': Buffer.byteLength(JSON.stringify({ query: SECRET_ARGUMENT })),
        'herald.tool.output_bytes': Buffer.byteLength(TOOL_OUTPUT),
      },
    );
    assert.ok(spans.every((span) => span.traceId === request.traceId));
    assert.ok(spans.every((span) => span.serviceName === 'herald-test'));

    const recorded = JSON.stringify(spans);
    for (const secret of NEVER_RECORDED) assert.ok(!recorded.includes(secret), `a span records "${secret}"`);
    assert.ok(collector.exports.every((e) => e.headers['x-collector-token'] === COLLECTOR_TOKEN));
    assert.ok(collector.exports.every((e) => e.contentType === 'application/json'));
  });

  test("a request with traceparent continues the caller's trace", async () => {
    const { client } = await startTraced();
    upstream.enqueue({ text: 'hi' });
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    await client.chat.completions.create(
      { model: 'herald', messages: [{ role: 'user', content: 'hello' }] },
      { headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } },
    );

    const spans = await flush();
    const request = collector.span('POST /v1/chat/completions');
    assert.equal(request.traceId, traceId);
    assert.equal(request.parentSpanId, callerSpanId);
    assert.deepEqual(
      spans.map((span) => span.traceId),
      spans.map(() => traceId),
    );
  });

  test('a failed upstream call marks the model span, the run and the request as errors with its code', async () => {
    const { client } = await startTraced();
    upstream.enqueue({ status: 500 });
    await assert.rejects(
      client.chat.completions.create({ model: 'herald', messages: [{ role: 'user', content: PROMPT }] }),
    );

    await flush();
    const model = collector.span('chat scripted-model');
    const run = collector.span('invoke_agent herald');
    const request = collector.span('POST /v1/chat/completions');
    const code = model.attributes['herald.error_code'];
    assert.match(String(code), /^upstream_/);
    for (const span of [model, run, request]) {
      assert.equal(span.statusCode, 2, span.name);
      assert.equal(span.attributes['error.type'], code, span.name);
    }
    assert.equal(model.attributes['herald.outcome'], 'error');
    assert.equal(run.attributes['herald.outcome'], 'error');
  });

  test('sample_ratio 0 records no new trace but follows a caller that sampled its own', async () => {
    const { client } = await startTraced({ sample_ratio: 0 });
    upstream.enqueue({ text: 'one' }, { text: 'two' });
    await client.chat.completions.create({ model: 'herald', messages: [{ role: 'user', content: 'a' }] });
    const traceId = randomBytes(16).toString('hex');
    await client.chat.completions.create(
      { model: 'herald', messages: [{ role: 'user', content: 'b' }] },
      { headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } },
    );

    const spans = await flush();
    assert.ok(spans.length >= 3);
    assert.ok(spans.every((span) => span.traceId === traceId));
  });
});

function pick(attributes: CollectedSpan['attributes'], keys: string[]): CollectedSpan['attributes'] {
  return Object.fromEntries(keys.map((key) => [key, attributes[key]]));
}
