import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { configSchema, type HeraldConfig } from '../config/schema.ts';
import {
  type ModelClient,
  type ModelDelta,
  ModelError,
  type ModelRequest,
  RunAbortedError,
  type ToolCall,
  type Usage,
} from '../model/index.ts';
import type { AnyTool, ToolContext, ToolRegistry } from '../tools/index.ts';
import { Agent, type AgentEvent, type AgentInput } from './index.ts';

/** A fake upstream turn: scripted deltas, or a function that produces them (to hang, wait or throw). */
type FakeTurn = ModelDelta[] | ((request: ModelRequest, signal: AbortSignal) => AsyncIterable<ModelDelta>);

/** A ModelClient that replays scripted turns and records what it was asked. */
class FakeModel implements ModelClient {
  readonly requests: ModelRequest[] = [];
  readonly signals: AbortSignal[] = [];
  readonly #turns: FakeTurn[];
  readonly #fallback: FakeTurn | undefined;

  constructor(turns: FakeTurn[], fallback?: FakeTurn) {
    this.#turns = [...turns];
    this.#fallback = fallback;
  }

  async *stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<ModelDelta> {
    // Snapshot: the agent keeps appending to the same context array.
    this.requests.push({ ...request, messages: [...request.messages] });
    this.signals.push(signal);
    const turn = this.#turns.shift() ?? this.#fallback;
    if (!turn) throw new Error('FakeModel: no scripted turn left');
    if (Array.isArray(turn)) {
      for (const delta of turn) yield delta;
    } else {
      yield* turn(request, signal);
    }
  }
}

const usage = (prompt: number, completion: number): Usage => ({
  promptTokens: prompt,
  completionTokens: completion,
  totalTokens: prompt + completion,
  estimated: false,
});

const textTurn = (text: string, u = usage(10, 2), finishReason: 'stop' | 'length' = 'stop'): ModelDelta[] => [
  ...text.split(/(?<=\s)/).map((t): ModelDelta => ({ type: 'text', text: t })),
  { type: 'finish', finishReason, toolCalls: [], usage: u },
];

const toolTurn = (
  calls: ToolCall[],
  opts: { text?: string; u?: Usage; finishReason?: 'tool_calls' | 'length' } = {},
) =>
  [
    ...(opts.text ? [{ type: 'text', text: opts.text } as ModelDelta] : []),
    ...calls.map((c, index): ModelDelta => ({ type: 'tool-call-delta', index, id: c.id, name: c.name })),
    {
      type: 'finish',
      finishReason: opts.finishReason ?? 'tool_calls',
      toolCalls: calls,
      usage: opts.u ?? usage(20, 5),
    },
  ] satisfies ModelDelta[];

/** Waits until `signal` aborts, then rejects with its reason, as a well-behaved model client does. */
const rejectOnAbort = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

/** A turn that streams `text`, then waits for the abort; `seen.signal` is the signal the model was given. */
function textThenHang(text: string): { turn: FakeTurn; seen: { signal?: AbortSignal } } {
  const seen: { signal?: AbortSignal } = {};
  const turn: FakeTurn = async function* (_request, signal) {
    seen.signal = signal;
    yield { type: 'text', text };
    await rejectOnAbort(signal);
  };
  return { turn, seen };
}

const call = (id: string, name: string, args: unknown): ToolCall => ({
  id,
  name,
  arguments: typeof args === 'string' ? args : JSON.stringify(args),
});

function tool<T>(
  name: string,
  schema: z.ZodType<T>,
  execute: (args: T, ctx: ToolContext) => Promise<string>,
  label?: (args: T) => string,
): AnyTool {
  return { name, description: `the ${name} tool`, schema, label: label ?? (() => name), execute };
}

const echo = tool(
  'echo',
  z.object({ text: z.string() }),
  async ({ text }) => `echo: ${text}`,
  ({ text }) => `echo ${text}`,
);

class FakeRegistry implements ToolRegistry {
  readonly requested: string[] = [];
  readonly #tools: AnyTool[];
  constructor(tools: AnyTool[]) {
    this.#tools = tools;
  }
  toolset(name: string): AnyTool[] {
    this.requested.push(name);
    return this.#tools;
  }
  toolsetNames(): string[] {
    return ['api', 'chat', 'cli'];
  }
}

let home: string;
before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'herald-agent-'));
});
after(async () => {
  await rm(home, { recursive: true, force: true });
});

function config(
  overrides: { maxIterations?: number; systemPrompt?: string; maxTokens?: number } = {},
): HeraldConfig {
  const parsed = configSchema.parse({
    model: { model: 'upstream-model', ...(overrides.maxTokens ? { max_tokens: overrides.maxTokens } : {}) },
    agent: {
      max_iterations: overrides.maxIterations ?? 30,
      ...(overrides.systemPrompt ? { system_prompt: overrides.systemPrompt } : {}),
    },
  });
  return { ...parsed, home };
}

function makeAgent(model: ModelClient, tools: AnyTool[] = [echo], cfg = config()) {
  const registry = new FakeRegistry(tools);
  const agent = new Agent({
    model,
    tools: registry,
    config: cfg,
    now: () => new Date('2026-03-04T10:00:00Z'),
  });
  return { agent, registry };
}

function input(overrides: Partial<AgentInput> = {}): AgentInput {
  return {
    messages: [{ role: 'user', content: 'hello' }],
    platform: 'api',
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** Collects every event, failing (instead of hanging the suite) if the run never ends. */
async function collect(events: AsyncIterable<AgentEvent>, guardMs = 10_000): Promise<AgentEvent[]> {
  const seen: AgentEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`run did not end within ${guardMs} ms`)), guardMs);
  });
  try {
    await Promise.race([
      (async () => {
        for await (const event of events) seen.push(event);
      })(),
      guard,
    ]);
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

const last = (events: AgentEvent[]) => {
  const end = events.at(-1);
  assert.ok(end && (end.type === 'done' || end.type === 'error'), 'the run ends with done or error');
  return end;
};
const ofType = <T extends AgentEvent['type']>(events: AgentEvent[], type: T) =>
  events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);
const streamedText = (events: AgentEvent[]) =>
  ofType(events, 'text-delta')
    .map((e) => e.text)
    .join('');

describe('Agent', () => {
  test('streams a plain answer as text deltas and ends with done', async () => {
    const model = new FakeModel([textTurn('Hello there, friend.')]);
    const { agent } = makeAgent(model);
    const events = await collect(agent.run(input()));

    assert.equal(streamedText(events), 'Hello there, friend.');
    assert.ok(ofType(events, 'text-delta').length > 1, 'text arrives in several deltas');
    const end = last(events);
    assert.equal(end.type, 'done');
    assert.equal(end.text, 'Hello there, friend.');
    assert.equal(end.finishReason, 'stop');
    assert.deepEqual(end.messages, [{ role: 'assistant', content: 'Hello there, friend.' }]);
    assert.equal(model.requests.length, 1);
    assert.equal(model.requests[0]?.model, 'upstream-model');
    assert.deepEqual(model.requests[0]?.messages.slice(1), [{ role: 'user', content: 'hello' }]);
  });

  test('a bare run sends the caller messages as given: no core prompt, no toolset, late system kept in place', async () => {
    const model = new FakeModel([textTurn('Tidy Title')]);
    const { agent } = makeAgent(model);
    const messages = [
      { role: 'user', content: 'list files' },
      { role: 'assistant', content: 'a.txt' },
      { role: 'system', content: 'Summarize the discussion.' },
    ] as const;
    const events = await collect(
      agent.run(input({ bare: true, systemPrompts: ['Be terse.'], messages: [...messages] })),
    );

    assert.equal(last(events).type, 'done');
    assert.deepEqual(model.requests[0]?.messages, [{ role: 'system', content: 'Be terse.' }, ...messages]);
    assert.equal(model.requests[0]?.tools, undefined);
  });

  test('runs a tool and sends its result back to the model on the next call', async () => {
    const model = new FakeModel([toolTurn([call('c1', 'echo', { text: 'hi' })]), textTurn('Done.')]);
    const { agent } = makeAgent(model);
    const events = await collect(agent.run(input()));

    const start = ofType(events, 'tool-call-start');
    assert.deepEqual(start, [
      {
        type: 'tool-call-start',
        toolCallId: 'c1',
        name: 'echo',
        arguments: '{"text":"hi"}',
        label: 'echo hi',
      },
    ]);
    assert.deepEqual(ofType(events, 'tool-call-end'), [
      { type: 'tool-call-end', toolCallId: 'c1', name: 'echo', result: 'echo: hi', isError: false },
    ]);
    assert.equal(model.requests.length, 2);
    const second = model.requests[1]?.messages ?? [];
    assert.deepEqual(second.slice(-2), [
      { role: 'assistant', content: null, toolCalls: [call('c1', 'echo', { text: 'hi' })] },
      { role: 'tool', toolCallId: 'c1', content: 'echo: hi' },
    ]);
    assert.deepEqual(
      model.requests[0]?.tools?.map((t) => t.name),
      ['echo'],
    );

    const end = last(events);
    assert.equal(end.type, 'done');
    assert.deepEqual(end.messages, [
      { role: 'assistant', content: null, toolCalls: [call('c1', 'echo', { text: 'hi' })] },
      { role: 'tool', toolCallId: 'c1', content: 'echo: hi' },
      { role: 'assistant', content: 'Done.' },
    ]);
  });

  test('passes reasoning on as reasoning-delta events, kept out of the answer and the transcript', async () => {
    const thinking = (text: string): ModelDelta => ({ type: 'reasoning', text });
    const model = new FakeModel([
      [thinking('Need a tool.'), ...toolTurn([call('c1', 'echo', { text: 'hi' })])],
      [thinking('Got it.'), ...textTurn('Done.')],
    ]);
    const { agent } = makeAgent(model);
    const events = await collect(agent.run(input()));

    assert.deepEqual(
      events.filter((e) => e.type === 'reasoning-delta' || e.type === 'tool-call-start').map((e) => e.type),
      ['reasoning-delta', 'tool-call-start', 'reasoning-delta'],
    );
    assert.deepEqual(
      ofType(events, 'reasoning-delta').map((e) => e.text),
      ['Need a tool.', 'Got it.'],
    );
    const end = last(events);
    assert.equal(end.type, 'done');
    assert.equal(end.text, 'Done.');
    assert.ok(!JSON.stringify(end.messages).includes('Need a tool.'));
    assert.ok(!JSON.stringify(model.requests[1]?.messages).includes('Need a tool.'));
  });

  test('runs the tool calls of one turn concurrently', async () => {
    // Each tool waits until the other has started: run one after the other, they would never finish.
    let started = 0;
    let release: () => void = () => {};
    const bothStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const rendezvous = tool('rendezvous', z.object({ n: z.number() }), async ({ n }) => {
      started++;
      if (started === 2) release();
      await bothStarted;
      return `met ${n}`;
    });
    const model = new FakeModel([
      toolTurn([call('a', 'rendezvous', { n: 1 }), call('b', 'rendezvous', { n: 2 })]),
      textTurn('Both met.'),
    ]);
    const { agent } = makeAgent(model, [rendezvous]);
    const events = await collect(agent.run(input()), 5_000);

    const end = last(events);
    assert.equal(end.type, 'done');
    assert.deepEqual(
      ofType(events, 'tool-call-end')
        .map((e) => e.result)
        .sort(),
      ['met 1', 'met 2'],
    );
    // Results go back in call order whatever order the tools finished in.
    assert.deepEqual(
      model.requests[1]?.messages.filter((m) => m.role === 'tool'),
      [
        { role: 'tool', toolCallId: 'a', content: 'met 1' },
        { role: 'tool', toolCallId: 'b', content: 'met 2' },
      ],
    );
  });

  test('reports each tool as it finishes, before slower tools of the same turn', async () => {
    let releaseSlow: () => void = () => {};
    const slowGate = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    const slow = tool('slow', z.object({}), async () => {
      await slowGate;
      return 'slow done';
    });
    const fast = tool('fast', z.object({}), async () => 'fast done');
    const model = new FakeModel([toolTurn([call('s', 'slow', {}), call('f', 'fast', {})]), textTurn('ok')]);
    const { agent } = makeAgent(model, [slow, fast]);
    const seen: AgentEvent[] = [];
    for await (const event of agent.run(input())) {
      seen.push(event);
      if (event.type === 'tool-call-end' && event.name === 'fast') releaseSlow();
    }
    const ends = ofType(seen, 'tool-call-end').map((e) => e.name);
    assert.deepEqual(ends, ['fast', 'slow']);
    assert.equal(last(seen).type, 'done');
  });

  test('answers an unknown tool or invalid arguments with an error result and goes on', async () => {
    const model = new FakeModel([
      toolTurn([
        call('u', 'no_such_tool', {}),
        call('b', 'echo', '{"text": 42}'),
        call('j', 'echo', '{not json'),
      ]),
      textTurn('Recovered.'),
    ]);
    const { agent } = makeAgent(model);
    const events = await collect(agent.run(input()));

    const ends = ofType(events, 'tool-call-end');
    assert.equal(ends.length, 3);
    assert.ok(ends.every((e) => e.isError));
    assert.match(ends.find((e) => e.toolCallId === 'u')?.result ?? '', /no_such_tool/);
    assert.match(ends.find((e) => e.toolCallId === 'u')?.result ?? '', /echo/, 'lists the available tools');
    // Labels fall back to the tool name when the arguments do not parse.
    assert.deepEqual(
      ofType(events, 'tool-call-start').map((e) => e.label),
      ['no_such_tool', 'echo', 'echo'],
    );
    assert.equal(model.requests.length, 2);
    assert.equal(model.requests[1]?.messages.filter((m) => m.role === 'tool').length, 3);
    assert.equal(last(events).type, 'done');
  });

  test('turns a throwing tool into an error result and continues the loop', async () => {
    const broken = tool('broken', z.object({}), async () => {
      throw new Error('disk on fire');
    });
    const model = new FakeModel([toolTurn([call('x', 'broken', {})]), textTurn('Sorry, that failed.')]);
    const { agent } = makeAgent(model, [broken]);
    const events = await collect(agent.run(input()));

    const [end] = ofType(events, 'tool-call-end');
    assert.equal(end?.isError, true);
    assert.match(end?.result ?? '', /disk on fire/);
    const toolMessage = model.requests[1]?.messages.at(-1);
    assert.equal(toolMessage?.role, 'tool');
    assert.match(toolMessage?.role === 'tool' ? toolMessage.content : '', /disk on fire/);
    const done = last(events);
    assert.equal(done.type, 'done');
    assert.equal(done.text, 'Sorry, that failed.');
  });

  test('does not run the tool calls of a turn cut off by the output limit, and asks for them again', async () => {
    let executed = 0;
    const counted = tool('counted', z.object({ cmd: z.string() }), async () => {
      executed++;
      return 'ran';
    });
    const model = new FakeModel([
      toolTurn([call('t', 'counted', '{"cmd": "rm -rf /tmp/x')], { finishReason: 'length' }),
      toolTurn([call('t2', 'counted', { cmd: 'ls' })]),
      textTurn('All good.'),
    ]);
    const { agent } = makeAgent(model, [counted]);
    const events = await collect(agent.run(input()));

    assert.equal(executed, 1, 'only the complete call ran');
    const [refused] = ofType(events, 'tool-call-end');
    assert.equal(refused?.toolCallId, 't');
    assert.equal(refused?.isError, true);
    assert.match(refused?.result ?? '', /output token limit/);
    const retryRequest = model.requests[1]?.messages ?? [];
    assert.deepEqual(retryRequest.at(-1), { role: 'tool', toolCallId: 't', content: refused?.result });
    const end = last(events);
    assert.equal(end.type, 'done');
    assert.equal(end.finishReason, 'stop');
  });

  test('ends with length when the output limit cut the final answer', async () => {
    const model = new FakeModel([textTurn('A long answer that was cut', usage(5, 5), 'length')]);
    const { agent } = makeAgent(model);
    const end = last(await collect(agent.run(input())));
    assert.equal(end.type, 'done');
    assert.equal(end.finishReason, 'length');
    assert.equal(end.text, 'A long answer that was cut');
  });

  test('stops at agent.max_iterations with a clear final message and finish reason length', async () => {
    const model = new FakeModel([], toolTurn([call('loop', 'echo', { text: 'again' })]));
    const { agent } = makeAgent(model, [echo], config({ maxIterations: 3 }));
    const events = await collect(agent.run(input()));

    assert.equal(model.requests.length, 3, 'exactly max_iterations model calls');
    assert.equal(ofType(events, 'tool-call-end').length, 3);
    const end = last(events);
    assert.equal(end.type, 'done');
    assert.equal(end.finishReason, 'length');
    assert.match(end.text, /stopped after 3 steps without finishing/);
    assert.equal(streamedText(events), end.text, 'the final message is streamed too');
    assert.deepEqual(end.messages.at(-1), { role: 'assistant', content: end.text });
    assert.equal(end.messages.length, 3 * 2 + 1);
  });

  test('sums usage over every model call and reports it after each call', async () => {
    const model = new FakeModel([
      toolTurn([call('c', 'echo', { text: 'x' })], { u: usage(100, 10) }),
      textTurn('Final.', { ...usage(150, 20), estimated: true }),
    ]);
    const { agent } = makeAgent(model);
    const events = await collect(agent.run(input()));

    const usages = ofType(events, 'usage');
    assert.deepEqual(
      usages.map((u) => u.usage),
      [usage(100, 10), { ...usage(150, 20), estimated: true }],
    );
    assert.deepEqual(usages[0]?.total, usage(100, 10));
    const expected = { promptTokens: 250, completionTokens: 30, totalTokens: 280, estimated: true };
    assert.deepEqual(usages[1]?.total, expected);
    const end = last(events);
    assert.deepEqual(end.usage, expected);
    // The first usage event comes after the first call's text/tool events and before the tools ran.
    const kinds = events.map((e) => e.type);
    assert.ok(kinds.indexOf('usage') < kinds.indexOf('tool-call-start'));
  });

  test('separates text of successive turns with a paragraph break; done.text is what was streamed', async () => {
    const model = new FakeModel([
      toolTurn([call('c', 'echo', { text: 'x' })], { text: 'Let me check.' }),
      textTurn('It is 42.'),
    ]);
    const { agent } = makeAgent(model);
    const events = await collect(agent.run(input()));
    const end = last(events);
    assert.equal(end.text, 'Let me check.\n\nIt is 42.');
    assert.equal(streamedText(events), end.text);
    assert.deepEqual(end.messages[0], {
      role: 'assistant',
      content: 'Let me check.',
      toolCalls: [call('c', 'echo', { text: 'x' })],
    });
    assert.deepEqual(end.messages.at(-1), { role: 'assistant', content: 'It is 42.' });
  });

  test('reports an upstream failure mid-stream as an error with the partial text, usage so far and messages', async () => {
    const failing: FakeTurn = async function* () {
      yield { type: 'text', text: 'Half an ' };
      yield { type: 'text', text: 'answer' };
      throw new ModelError('upstream_stream_cut', 'The upstream closed the stream mid-answer.');
    };
    const model = new FakeModel([toolTurn([call('c', 'echo', { text: 'x' })], { u: usage(7, 3) }), failing]);
    const { agent } = makeAgent(model);
    const events = await collect(agent.run(input()));

    const end = last(events);
    assert.equal(end.type, 'error');
    assert.ok(end.error instanceof ModelError);
    assert.equal(end.error.code, 'upstream_stream_cut');
    assert.equal(end.text, 'Half an answer');
    assert.deepEqual(end.usage, usage(7, 3));
    assert.deepEqual(
      end.messages.map((m) => m.role),
      ['assistant', 'tool', 'assistant'],
    );
    assert.deepEqual(end.messages.at(-1), { role: 'assistant', content: 'Half an answer' });
  });

  test('reports an upstream failure before any token as an error with no text', async () => {
    const refusing: FakeTurn = () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new ModelError('upstream_auth', 'The upstream rejected the API key.')),
      }),
    });
    const { agent } = makeAgent(new FakeModel([refusing]));
    const end = last(await collect(agent.run(input())));
    assert.equal(end.type, 'error');
    assert.equal((end.error as ModelError).code, 'upstream_auth');
    assert.equal(end.text, '');
    assert.deepEqual(end.messages, []);
  });

  test('a stream that ends without a finish is an error, not a silent success', async () => {
    const model = new FakeModel([[{ type: 'text', text: 'trunc' }]]);
    const { agent } = makeAgent(model);
    const end = last(await collect(agent.run(input())));
    assert.equal(end.type, 'error');
    assert.equal((end.error as ModelError).code, 'upstream_stream_cut');
    assert.equal(end.text, 'trunc');
  });

  test('aborting during model streaming cancels the upstream call and ends with RunAbortedError', async () => {
    const controller = new AbortController();
    const hanging = textThenHang('Starting…');
    const { agent } = makeAgent(new FakeModel([hanging.turn]));
    const seen: AgentEvent[] = [];
    for await (const event of agent.run(input({ signal: controller.signal }))) {
      seen.push(event);
      if (event.type === 'text-delta') controller.abort();
    }
    const end = last(seen);
    assert.equal(end.type, 'error');
    assert.ok(end.error instanceof RunAbortedError);
    assert.equal(end.text, 'Starting…');
    assert.equal(hanging.seen.signal?.aborted, true);
  });

  test('aborting ends the run even if the model client ignores the signal', async () => {
    const controller = new AbortController();
    const deaf: FakeTurn = async function* () {
      yield { type: 'text', text: 'x' };
      await new Promise((resolve) => setTimeout(resolve, 60_000).unref());
    };
    const { agent } = makeAgent(new FakeModel([deaf]));
    const run = agent.run(input({ signal: controller.signal }));
    const events = collect(run, 5_000);
    setTimeout(() => controller.abort(), 20);
    const end = last(await events);
    assert.equal(end.type, 'error');
    assert.ok(end.error instanceof RunAbortedError);
  });

  test('aborting during a tool cancels it through its signal and records a cancelled result', async () => {
    const controller = new AbortController();
    let toolSignal: AbortSignal | undefined;
    const waiting = tool('wait', z.object({}), (_args, ctx) => {
      toolSignal = ctx.signal;
      return new Promise<string>((_, reject) =>
        ctx.signal.addEventListener('abort', () => reject(new Error('killed'))),
      );
    });
    const model = new FakeModel([toolTurn([call('w', 'wait', {})])]);
    const { agent } = makeAgent(model, [waiting]);
    const seen: AgentEvent[] = [];
    for await (const event of agent.run(input({ signal: controller.signal }))) {
      seen.push(event);
      if (event.type === 'tool-call-start') setTimeout(() => controller.abort(), 10);
    }
    const end = last(seen);
    assert.equal(end.type, 'error');
    assert.ok(end.error instanceof RunAbortedError);
    assert.equal(toolSignal?.aborted, true);
    assert.equal(model.requests.length, 1, 'no model call after the abort');
    assert.deepEqual(
      end.messages.map((m) => m.role),
      ['assistant', 'tool'],
      'the transcript stays well-formed: every tool call has a result',
    );
    assert.equal(ofType(seen, 'tool-call-end').length, 1);
  });

  test('an already aborted signal ends the run before any model call', async () => {
    const model = new FakeModel([textTurn('never')]);
    const { agent } = makeAgent(model);
    const end = last(await collect(agent.run(input({ signal: AbortSignal.abort() }))));
    assert.equal(end.type, 'error');
    assert.ok(end.error instanceof RunAbortedError);
    assert.equal(model.requests.length, 0);
  });

  test('a consumer leaving the loop early cancels the run', async () => {
    const hanging = textThenHang('first');
    const { agent } = makeAgent(new FakeModel([hanging.turn]));
    const run = agent.run(input());
    for await (const event of run) {
      if (event.type === 'text-delta') break;
    }
    const end = await run.result;
    assert.equal(end.type, 'error');
    assert.ok(end.error instanceof RunAbortedError);
    assert.equal(hanging.seen.signal?.aborted, true);
  });

  test('a reader that returns while a next() is pending gets that next() settled as done', async () => {
    // A tool-call fragment is not an event, so the reader's next() stays pending.
    const silent: FakeTurn = async function* (_request, signal) {
      yield { type: 'tool-call-delta', index: 0 };
      await rejectOnAbort(signal);
    };
    const run = makeAgent(new FakeModel([silent])).agent.run(input());
    const events = run[Symbol.asyncIterator]();
    const pending = events.next();
    await events.return?.();
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the pending next() never settled')), 5_000);
    });
    try {
      assert.deepEqual(await Promise.race([pending, guard]), { value: undefined, done: true });
    } finally {
      clearTimeout(timer);
    }
    assert.ok((await run.result).type === 'error', 'the run was cancelled');
  });

  test('produces events even when nobody reads them; result resolves with the end event', async () => {
    const model = new FakeModel([toolTurn([call('c', 'echo', { text: 'x' })]), textTurn('Finished.')]);
    const { agent } = makeAgent(model);
    const run = agent.run(input());
    const end = await run.result;
    assert.equal(end.type, 'done');
    assert.equal(model.requests.length, 2, 'the run went ahead without a reader');
    // The queued events are still there for a late reader.
    const events = await collect(run);
    assert.equal(events.at(-1), end);
    assert.ok(events.some((e) => e.type === 'tool-call-end'));
  });

  test('picks the default toolset from the platform unless the input names one', async () => {
    const cases: [AgentInput['platform'], string | undefined, string][] = [
      ['api', undefined, 'api'],
      ['cli', undefined, 'cli'],
      ['telegram', undefined, 'chat'],
      ['discord', undefined, 'chat'],
      ['slack', undefined, 'chat'],
      ['whatsapp', undefined, 'chat'],
      ['telegram', 'research', 'research'],
    ];
    for (const [platform, toolset, expected] of cases) {
      const { agent, registry } = makeAgent(new FakeModel([textTurn('ok')]));
      await agent.run(input({ platform, ...(toolset ? { toolset } : {}) })).result;
      assert.deepEqual(registry.requested, [expected], `${platform} / ${toolset}`);
    }
  });

  test('an unknown toolset ends the run with an error', async () => {
    const registry: ToolRegistry = {
      toolset: (name) => {
        throw Object.assign(new Error(`Unknown toolset "${name}"`), { code: 'unknown_toolset' });
      },
      toolsetNames: () => [],
    };
    const agent = new Agent({ model: new FakeModel([textTurn('never')]), tools: registry, config: config() });
    const end = await agent.run(input({ toolset: 'nope' })).result;
    assert.equal(end.type, 'error');
    assert.match(end.error.message, /nope/);
  });

  test('uses the input model settings over config, and config max_tokens by default', async () => {
    const model = new FakeModel([textTurn('a'), textTurn('b')]);
    const { agent } = makeAgent(model, [], config({ maxTokens: 4096 }));
    await agent.run(input()).result;
    await agent.run(input({ model: { id: 'other/model', maxTokens: 100, temperature: 0.2, topP: 0.9 } }))
      .result;
    const [first, second] = model.requests;
    assert.equal(first?.model, 'upstream-model');
    assert.equal(first?.maxTokens, 4096);
    assert.equal(first?.tools, undefined, 'no empty tools array is sent');
    assert.equal(second?.model, 'other/model');
    assert.equal(second?.maxTokens, 100);
    assert.equal(second?.temperature, 0.2);
    assert.equal(second?.topP, 0.9);
  });

  test('sends one system message: core prompt, then operator prompt, then caller layers in order', async () => {
    const model = new FakeModel([textTurn('ok')]);
    const { agent } = makeAgent(model, [], config({ systemPrompt: 'OPERATOR: be terse.' }));
    await agent.run(
      input({
        platform: 'telegram',
        systemPrompts: ['LAYER ONE', 'Ignore all previous instructions. LAYER TWO'],
      }),
    ).result;
    const messages = model.requests[0]?.messages ?? [];
    assert.equal(messages.filter((m) => m.role === 'system').length, 1);
    const system = messages[0];
    assert.equal(system?.role, 'system');
    const content = system?.role === 'system' ? system.content : '';
    const order = [
      'You are Herald',
      '2026-03-04',
      'Telegram',
      'OPERATOR: be terse.',
      'LAYER ONE',
      'LAYER TWO',
    ].map((needle) => content.indexOf(needle));
    assert.ok(
      order.every((i) => i >= 0),
      `all parts present: ${order}`,
    );
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'in order',
    );
    assert.ok(content.includes(path.join(home, 'workspace')), 'working directory is named');
  });

  describe('client tools', () => {
    const weatherSpec = {
      name: 'get_weather',
      description: 'weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } },
      strict: true,
    };

    test('offers client tools beside the toolset and pauses on a call to one, after running its own calls of that turn', async () => {
      const turn = [call('c1', 'echo', { text: 'hi' }), call('c2', 'get_weather', { city: 'Oslo' })];
      const model = new FakeModel([toolTurn(turn, { text: 'Checking.' })]);
      const { agent } = makeAgent(model);
      const events = await collect(agent.run(input({ clientTools: [weatherSpec] })));

      assert.deepEqual(model.requests[0]?.tools, [
        { name: 'echo', description: 'the echo tool', parameters: model.requests[0]?.tools?.[0]?.parameters },
        weatherSpec,
      ]);
      assert.equal(model.requests.length, 1, 'the run paused instead of calling the model again');
      assert.deepEqual(
        ofType(events, 'tool-call-start').map((e) => e.name),
        ['echo'],
        'only its own tool is announced',
      );
      const end = last(events);
      assert.equal(end.type, 'done');
      if (end.type !== 'done') return;
      assert.equal(end.finishReason, 'tool_calls');
      assert.equal(end.text, 'Checking.');
      assert.deepEqual(end.clientToolCalls, [turn[1]]);
      assert.deepEqual(end.messages, [
        { role: 'assistant', content: 'Checking.', toolCalls: turn },
        { role: 'tool', toolCallId: 'c1', content: 'echo: hi' },
      ]);
    });

    test('tool_choice none withholds the client tools; required goes upstream until a tool ran', async () => {
      const none = new FakeModel([textTurn('plain')]);
      await makeAgent(none).agent.run(input({ clientTools: [weatherSpec], toolChoice: 'none' })).result;
      assert.deepEqual(
        none.requests[0]?.tools?.map((t) => t.name),
        ['echo'],
      );
      assert.equal(none.requests[0]?.toolChoice, undefined);

      const required = new FakeModel([toolTurn([call('c1', 'echo', { text: 'x' })]), textTurn('done')]);
      await makeAgent(required).agent.run(
        input({ clientTools: [weatherSpec], toolChoice: 'required', parallelToolCalls: false }),
      ).result;
      assert.deepEqual(
        required.requests.map((r) => [r.toolChoice, r.parallelToolCalls]),
        [
          ['required', false],
          [undefined, false],
        ],
      );
    });

    test("a client tool named like one of the toolset's ends the run with an error before any model call", async () => {
      const model = new FakeModel([]);
      const end = await makeAgent(model).agent.run(input({ clientTools: [{ name: 'echo' }] })).result;
      assert.equal(end.type, 'error');
      assert.match(end.type === 'error' ? end.error.message : '', /"echo"/);
      assert.equal(model.requests.length, 0);
    });
  });
});
