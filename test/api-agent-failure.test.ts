/**
 * An agent that breaks in an unexpected way (a bug, not an upstream failure) must never hang or spin the
 * API server: every endpoint answers it promptly with an OpenAI-shaped error — a 500 `internal_error`
 * (type `server_error`) when not streaming, `response.failed` or an `error` frame with that code when
 * streaming — stores the Response as failed, and frees its run slot for the next request. Such a bug is
 * never blamed on the upstream (no 502 `agent_incomplete` / `upstream_error`): that stays for runs the
 * model ended without text, and upstream failures keep their own status. Driven with the official `openai` SDK against a real server
 * whose AgentRunner is swapped, per test, for one that fails in each way a run can break: the real Agent
 * hitting a TypeError, an `error` event carrying a plain Error mid-stream, an iterator that throws, and
 * an iterator that ends without a terminal event.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import OpenAI from 'openai';
import { Agent, type AgentEvent, type AgentInput, type AgentRunner } from '../src/agent/index.ts';
import { createModelClient, zeroUsage } from '../src/model/index.ts';
import type { ToolRegistry } from '../src/tools/index.ts';
import { responseEvents, startTestServer, type TestServer } from './api-test-server.ts';

type FailureMode = 'agent-type-error' | 'error-event' | 'iterator-throws' | 'iterator-ends';

/** A registry that breaks like a programming error does: the agent calls it and gets a TypeError. */
const brokenTools: ToolRegistry = {
  toolset() {
    throw new TypeError("Cannot read properties of undefined (reading 'length')");
  },
  toolsetNames: () => ['api'],
};

/** Text first, then the failure: the stream is already open when the run breaks. */
async function* brokenRun(mode: Exclude<FailureMode, 'agent-type-error'>): AsyncGenerator<AgentEvent> {
  yield { type: 'text-delta', text: 'partial ' };
  await new Promise((resolve) => setImmediate(resolve));
  if (mode === 'error-event') {
    yield {
      type: 'error',
      error: new TypeError('calls is not iterable'),
      text: 'partial ',
      usage: zeroUsage(),
      messages: [],
    };
    return;
  }
  if (mode === 'iterator-throws') throw new TypeError('calls is not iterable');
  // iterator-ends: no done/error at all
}

let h: TestServer;
let mode: FailureMode | 'ok' = 'ok';
let brokenAgent: AgentRunner;

before(async () => {
  h = await startTestServer({
    // One slot: a run that failed without releasing it would make the next request a 429.
    apiServer: { max_concurrent_runs: 1 },
    agent: (real) => ({
      run(input: AgentInput) {
        if (mode === 'ok') return real.run(input);
        if (mode === 'agent-type-error') return brokenAgent.run(input);
        return brokenRun(mode);
      },
    }),
  });
  brokenAgent = new Agent({
    model: createModelClient(h.config.model, { retryBaseMs: 1 }),
    tools: brokenTools,
    config: h.config,
  });
});
after(() => h?.close());
beforeEach(() => {
  mode = 'ok';
});

/** A client that gives up long before the test runner would: a hang fails this test, not the file. */
function client(): OpenAI {
  return new OpenAI({ baseURL: h.baseURL, apiKey: 'not-needed', maxRetries: 0, timeout: 10_000 });
}

/** The server still works after the failure: its run slot was freed and its queue is not stuck. */
async function assertServerStillAnswers(): Promise<void> {
  mode = 'ok';
  h.upstream.enqueue({ text: 'still here' });
  const response = await client().responses.create({ model: 'herald', input: 'ping' });
  assert.equal(response.output_text, 'still here');
}

/** Herald's own bug: a 500 internal_error, with nothing of the bug's internals in the message. */
function assertServerError(error: unknown): true {
  assert.ok(error instanceof OpenAI.APIError, `expected an APIError, got ${String(error)}`);
  assert.equal(error.status, 500);
  assertInternalErrorBody(error);
  return true;
}

function assertInternalErrorBody(error: InstanceType<typeof OpenAI.APIError>): void {
  assert.equal(error.code, 'internal_error');
  assert.equal(error.type, 'server_error');
  const message = (error.error as { message?: unknown } | undefined)?.message;
  assert.equal(typeof message, 'string');
  assert.doesNotMatch(String(message), /iterable|Cannot read properties/);
}

const modes: FailureMode[] = ['agent-type-error', 'error-event', 'iterator-throws', 'iterator-ends'];

for (const failure of modes) {
  describe(`an agent run that breaks (${failure})`, { timeout: 30_000 }, () => {
    it('POST /v1/responses answers 5xx and the server keeps serving', async () => {
      mode = failure;
      await assert.rejects(client().responses.create({ model: 'herald', input: 'break' }), assertServerError);
      await assertServerStillAnswers();
    });

    it('POST /v1/responses stream ends with response.failed, stored as failed', async () => {
      mode = failure;
      const res = await fetch(`${h.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'herald', input: 'break', stream: true }),
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(res.status, 200);
      const events = responseEvents(await res.text());
      const last = events.at(-1);
      assert.equal(last.type, 'response.failed');
      assert.equal(last.response.status, 'failed');
      assert.equal(last.response.error.code, 'server_error');
      assert.equal(typeof last.response.error.message, 'string');
      const stored = await client().responses.retrieve(last.response.id);
      assert.equal(stored.status, 'failed');
      await assertServerStillAnswers();
    });

    it('the SDK stream helper ends with response.failed instead of waiting', async () => {
      mode = failure;
      const stream = client().responses.stream({ model: 'herald', input: 'break' });
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      assert.equal(types.at(-1), 'response.failed');
      await assertServerStillAnswers();
    });

    it('POST /v1/chat/completions answers 5xx', async () => {
      mode = failure;
      await assert.rejects(
        client().chat.completions.create({ model: 'herald', messages: [{ role: 'user', content: 'break' }] }),
        assertServerError,
      );
      await assertServerStillAnswers();
    });

    it('POST /v1/chat/completions stream ends with an internal_error the SDK raises', async () => {
      mode = failure;
      await assert.rejects(
        (async () => {
          // A run that fails before any output may be answered with a plain 5xx instead of a stream.
          const stream = await client().chat.completions.create({
            model: 'herald',
            messages: [{ role: 'user', content: 'break' }],
            stream: true,
          });
          for await (const _chunk of stream) {
            // drain: the failure must surface as a thrown APIError, not as a clean end
          }
        })(),
        (error: unknown) => {
          assert.ok(error instanceof OpenAI.APIError, `expected an APIError, got ${String(error)}`);
          // A plain 500 when the run broke before the stream opened; else the error frame (no status).
          if (error.status !== undefined) assert.equal(error.status, 500);
          assertInternalErrorBody(error);
          return true;
        },
      );
      await assertServerStillAnswers();
    });
  });
}

describe('runs that end without text for upstream reasons stay 5xx upstream errors', {
  timeout: 30_000,
}, () => {
  it('the model answering nothing is a 502 agent_incomplete', async () => {
    h.upstream.enqueue({ text: '' });
    await assert.rejects(
      client().chat.completions.create({ model: 'herald', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) =>
        error instanceof OpenAI.APIError &&
        error.status === 502 &&
        error.code === 'agent_incomplete' &&
        error.type === 'upstream_error',
    );
  });

  it('an upstream failure keeps its own 502 upstream_* code', async () => {
    h.upstream.enqueue({ status: 500 });
    await assert.rejects(
      client().chat.completions.create({ model: 'herald', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) =>
        error instanceof OpenAI.APIError &&
        error.status === 502 &&
        String(error.code).startsWith('upstream_') &&
        error.type === 'upstream_error',
    );
  });
});
