import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-node';
import { z } from 'zod';
import type { AgentEvent, AgentInput, AgentRunner } from '../agent/index.ts';
import { silentLogger } from '../logger.ts';
import { type ModelClient, type ModelDelta, RunAbortedError, zeroUsage } from '../model/index.ts';
import { ToolError } from '../tools/errors.ts';
import type { AnyTool, ToolContext, ToolRegistry } from '../tools/index.ts';
import { createOtelTracing } from './otel-tracing.ts';
import type { Tracing } from './tracing.ts';

/** Keeps every exported span (the SDK's in-memory exporter forgets them on shutdown). */
function collectingExporter(): SpanExporter & { spans: ReadableSpan[] } {
  const spans: ReadableSpan[] = [];
  return {
    spans,
    export: (batch, done) => {
      spans.push(...batch);
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
}

let tracing: Tracing | undefined;
afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

function start(): { tracing: Tracing; spans: ReadableSpan[] } {
  const exporter = collectingExporter();
  tracing = createOtelTracing({
    endpoint: 'http://127.0.0.1:9/v1/traces',
    service_name: 'herald',
    headers: {},
    sample_ratio: 1,
    version: 'test',
    upstreamUrl: 'https://models.example.com/v1',
    logger: silentLogger(),
    exporter,
  });
  return { tracing, spans: exporter.spans };
}

const input = (platform: AgentInput['platform']): AgentInput => ({
  messages: [{ role: 'user', content: 'hi' }],
  platform,
  signal: new AbortController().signal,
});

const doneEvent: AgentEvent = {
  type: 'done',
  text: 'ok',
  finishReason: 'stop',
  usage: zeroUsage(),
  messages: [],
};

const answering: AgentRunner = {
  async *run() {
    yield doneEvent;
  },
};

test("a chat platform's run is the root of its own trace, even where another span is current", async () => {
  const { tracing, spans } = start();
  const request = tracing.startRequest({ method: 'POST', path: '/x', requestId: 'r1', headers: {} });
  const agent = tracing.observeAgent(answering);
  for await (const _ of request.within(() => agent.run(input('telegram')))) {
    // drain
  }
  for await (const _ of request.within(() => agent.run(input('api')))) {
    // drain
  }
  request.end({ route: '/x', status: 200 });
  await tracing.shutdown();

  const [chat, api] = spans.filter((span) => span.name === 'invoke_agent herald');
  const requestSpan = spans.find((span) => span.name === 'POST /x');
  assert.equal(chat?.attributes['herald.platform'], 'telegram');
  assert.equal(chat?.parentSpanContext, undefined);
  assert.notEqual(chat?.spanContext().traceId, requestSpan?.spanContext().traceId);
  assert.equal(api?.parentSpanContext?.spanId, requestSpan?.spanContext().spanId);
});

test('a model call cancelled by its run is aborted, not an error', async () => {
  const { tracing, spans } = start();
  const hanging: ModelClient = {
    async *stream(_request, signal): AsyncGenerator<ModelDelta> {
      yield { type: 'text', text: 'par' };
      await new Promise((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    },
  };
  const controller = new AbortController();
  const model = tracing.observeModel(hanging);
  await assert.rejects(async () => {
    for await (const _ of model.stream({ model: 'm', messages: [] }, controller.signal)) {
      controller.abort(new RunAbortedError('stopped'));
    }
  }, RunAbortedError);
  await tracing.shutdown();

  const [span] = spans;
  assert.equal(span?.name, 'chat m');
  assert.equal(span?.attributes['herald.outcome'], 'aborted');
  assert.equal(span?.status.code, 0);
  assert.equal(span?.attributes['server.address'], 'models.example.com');
  assert.equal(span?.attributes['server.port'], 443);
});

test("a failing tool's span carries its error code, never its message", async () => {
  const { tracing, spans } = start();
  const failing: AnyTool = {
    name: 'read_file',
    description: 'Reads a file.',
    schema: z.object({ path: z.string() }),
    label: () => 'read_file',
    execute: async () => {
      throw new ToolError('not_found', 'no such file: /home/ann/secret-plans.txt');
    },
  };
  const registry: ToolRegistry = { toolset: () => [failing], toolsetNames: () => ['api'] };
  const [tool] = tracing.observeTools(registry).toolset('api');
  const ctx = { signal: new AbortController().signal } as ToolContext;
  await assert.rejects(tool!.execute({ path: '/home/ann/secret-plans.txt' }, ctx), ToolError);
  await tracing.shutdown();

  const [span] = spans;
  assert.equal(span?.name, 'execute_tool read_file');
  assert.equal(span?.attributes['error.type'], 'not_found');
  assert.equal(span?.attributes['herald.outcome'], 'error');
  assert.equal(span?.status.code, 2);
  assert.ok(!JSON.stringify({ a: span?.attributes, s: span?.status }).includes('secret-plans'));
});
