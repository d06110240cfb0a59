/**
 * Conformance of Herald's Responses API with the Open Responses specification (openresponses.org,
 * OpenAPI document 2026-04-24): every event of a stream and every final object, for a plain text turn
 * (streamed and not), a hosted tool turn, a reasoning turn, a client tool call, a failed run and an incomplete
 * (`max_output_tokens`) run, and the same object again from GET. The zod schemas below are written from
 * the specification's `ResponseResource`, item and streaming-event schemas (required keys, their types and
 * nullability) and its streaming rules (`event:` equals `type`, `sequence_number` from 0 without gaps,
 * one terminal event, then the literal `[DONE]`); extension items and events are held to the rules the
 * specification sets for extensions (`id`/`type`/`status`, `type`/`sequence_number`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { responseEvents, startTestServer, type TestServer } from './api-test-server.ts';

const int = z.number().int();

const usage = z.object({
  input_tokens: int,
  output_tokens: int,
  total_tokens: int,
  input_tokens_details: z.object({ cached_tokens: int }),
  output_tokens_details: z.object({ reasoning_tokens: int }),
});

const itemStatus = z.enum(['in_progress', 'completed', 'incomplete']);
const outputText = z.object({
  type: z.literal('output_text'),
  text: z.string(),
  annotations: z.array(z.unknown()),
  logprobs: z.array(z.unknown()).optional(),
});
const contentPart = z.discriminatedUnion('type', [
  outputText,
  z.object({ type: z.literal('refusal'), refusal: z.string() }),
  z.object({ type: z.literal('input_text'), text: z.string() }),
]);

const standardItems = {
  message: z.object({
    type: z.literal('message'),
    id: z.string(),
    status: itemStatus,
    role: z.enum(['user', 'assistant', 'system', 'developer']),
    content: z.array(contentPart),
  }),
  function_call: z.object({
    type: z.literal('function_call'),
    id: z.string(),
    call_id: z.string(),
    name: z.string(),
    arguments: z.string(),
    status: itemStatus,
  }),
  function_call_output: z.object({
    type: z.literal('function_call_output'),
    id: z.string(),
    call_id: z.string(),
    output: z.union([z.string(), z.array(z.unknown())]),
    status: itemStatus,
  }),
  reasoning: z.object({
    type: z.literal('reasoning'),
    id: z.string(),
    summary: z.array(z.object({ type: z.literal('summary_text'), text: z.string() })),
  }),
} as const;
/** "Every Item … MUST include `id`, `type` and `status`", whatever its type. */
const extensionItem = z.object({ type: z.string(), id: z.string(), status: z.string() });

function checkItem(item: unknown, where: string): void {
  const type = (item as { type?: unknown }).type;
  const schema = Object.hasOwn(standardItems, String(type))
    ? standardItems[type as keyof typeof standardItems]
    : extensionItem;
  expectValid(schema, item, `${where} (${String(type)})`);
}

const functionTool = z.object({
  type: z.literal('function'),
  name: z.string(),
  description: z.string().nullable(),
  parameters: z.record(z.string(), z.unknown()).nullable(),
  strict: z.boolean().nullable(),
});
const tool = z.union([functionTool, z.object({ type: z.string().refine((t) => t !== 'function') })]);

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), name: z.string().optional() }),
  z.object({ type: z.literal('allowed_tools'), tools: z.array(z.unknown()), mode: z.string() }),
]);

const textField = z.object({
  format: z.discriminatedUnion('type', [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      name: z.string(),
      description: z.string().nullable(),
      schema: z.unknown(),
      strict: z.boolean(),
    }),
  ]),
  verbosity: z.enum(['low', 'medium', 'high']).optional(),
});

const responseResource = z.object({
  id: z.string(),
  object: z.literal('response'),
  created_at: int,
  completed_at: int.nullable(),
  status: z.enum(['queued', 'in_progress', 'completed', 'failed', 'incomplete', 'cancelled']),
  incomplete_details: z.object({ reason: z.string() }).nullable(),
  model: z.string(),
  previous_response_id: z.string().nullable(),
  instructions: z.string().nullable(),
  output: z.array(z.unknown()),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  tools: z.array(tool),
  tool_choice: toolChoice,
  truncation: z.enum(['auto', 'disabled']),
  parallel_tool_calls: z.boolean(),
  text: textField,
  top_p: z.number(),
  presence_penalty: z.number(),
  frequency_penalty: z.number(),
  top_logprobs: int,
  temperature: z.number(),
  reasoning: z
    .object({
      effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullable(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullable(),
    })
    .nullable(),
  user: z.string().nullable(),
  usage: usage.nullable(),
  max_output_tokens: int.nullable(),
  max_tool_calls: int.nullable(),
  store: z.boolean(),
  background: z.boolean(),
  service_tier: z.string(),
  metadata: z.record(z.string(), z.string()),
  safety_identifier: z.string().nullable(),
  prompt_cache_key: z.string().nullable(),
});
type ResponseResource = z.infer<typeof responseResource>;

/** The whole object: schema, its items, and what each status implies. */
function checkResponse(value: unknown, where: string): ResponseResource {
  const response = expectValid(responseResource, value, where);
  response.output.forEach((item, i) => {
    checkItem(item, `${where}.output[${i}]`);
  });
  const finished = !['queued', 'in_progress'].includes(response.status);
  assert.equal(response.completed_at === null, !finished, `${where}: completed_at iff finished`);
  assert.equal(response.error !== null, response.status === 'failed', `${where}: error iff failed`);
  if (response.status === 'incomplete') assert.ok(response.incomplete_details, `${where}: why incomplete`);
  else assert.equal(response.incomplete_details, null, `${where}: incomplete_details`);
  if (response.status === 'completed') assert.ok(response.usage, `${where}: usage when completed`);
  return response;
}

const seq = { type: z.string(), sequence_number: int };
const partEvent = { ...seq, item_id: z.string(), output_index: int, content_index: int };
const lifecycle = z.object({ ...seq, response: z.unknown() });
const summaryEvent = { ...seq, item_id: z.string(), output_index: int, summary_index: int };
const summaryPart = z.object({ type: z.literal('summary_text'), text: z.string() });
const eventSchemas: Record<string, z.ZodType> = {
  'response.created': lifecycle,
  'response.queued': lifecycle,
  'response.in_progress': lifecycle,
  'response.completed': lifecycle,
  'response.failed': lifecycle,
  'response.incomplete': lifecycle,
  'response.output_item.added': z.object({ ...seq, output_index: int, item: z.unknown() }),
  'response.output_item.done': z.object({ ...seq, output_index: int, item: z.unknown() }),
  'response.content_part.added': z.object({ ...partEvent, part: contentPart }),
  'response.content_part.done': z.object({ ...partEvent, part: contentPart }),
  'response.output_text.delta': z.object({
    ...partEvent,
    delta: z.string(),
    logprobs: z.array(z.unknown()).optional(),
  }),
  'response.output_text.done': z.object({
    ...partEvent,
    text: z.string(),
    logprobs: z.array(z.unknown()).optional(),
  }),
  'response.reasoning_summary_part.added': z.object({ ...summaryEvent, part: summaryPart }),
  'response.reasoning_summary_part.done': z.object({ ...summaryEvent, part: summaryPart }),
  'response.reasoning_summary_text.delta': z.object({ ...summaryEvent, delta: z.string() }),
  'response.reasoning_summary_text.done': z.object({ ...summaryEvent, text: z.string() }),
  'response.function_call_arguments.delta': z.object({
    ...seq,
    item_id: z.string(),
    output_index: int,
    delta: z.string(),
  }),
  'response.function_call_arguments.done': z.object({
    ...seq,
    item_id: z.string(),
    output_index: int,
    arguments: z.string(),
  }),
  error: z.object({
    ...seq,
    error: z.object({
      type: z.string(),
      code: z.string().nullable(),
      message: z.string(),
      param: z.string().nullable(),
    }),
  }),
};
/** Extension events need only `type` and `sequence_number`. */
const extensionEvent = z.object(seq);

const terminalTypes = new Set(['response.completed', 'response.failed', 'response.incomplete']);

// biome-ignore lint/suspicious/noExplicitAny: events are checked field by field below
type StreamEvent = any;

/**
 * Every event against its schema and the stream's rules; returns the terminal event's Response.
 * `responseEvents` has already checked `event:` = `type` and the closing `[DONE]`.
 */
function checkStream(events: StreamEvent[]): ResponseResource {
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
    'sequence_number runs from 0 without gaps',
  );
  for (const event of events) {
    expectValid(eventSchemas[event.type] ?? extensionEvent, event, event.type);
    if ('response' in event) checkResponse(event.response, `${event.type}.response`);
    if ('item' in event) checkItem(event.item, `${event.type}.item`);
  }
  assert.equal(events[0]?.type, 'response.created');
  assert.equal(events[1]?.type, 'response.in_progress');
  for (const start of events.slice(0, 2)) {
    assert.equal(start.response.status, 'in_progress');
    assert.equal(start.response.usage, null);
  }
  const terminals = events.filter((e) => terminalTypes.has(e.type));
  assert.equal(terminals.length, 1, 'exactly one terminal event');
  const terminal = events.at(-1);
  assert.ok(terminalTypes.has(terminal.type), 'the terminal event comes last');
  const final = terminal.response as ResponseResource;
  const expectedStatus = terminal.type.slice('response.'.length);
  assert.ok(
    final.status === expectedStatus || (expectedStatus === 'incomplete' && final.status === 'cancelled'),
    `${terminal.type} carries status ${final.status}`,
  );

  // Items: added once, done once, in output order; the final output is the done items.
  const added = events.filter((e) => e.type === 'response.output_item.added');
  const done = events.filter((e) => e.type === 'response.output_item.done');
  assert.deepEqual(
    added.map((e) => e.output_index),
    added.map((_, i) => i),
  );
  assert.deepEqual(done.map((e) => e.output_index).sort(), [...added.map((e) => e.output_index)].sort());
  for (const e of added) assert.equal(e.item.status, 'in_progress', 'an item starts in_progress');
  const doneByIndex = new Map(done.map((e) => [e.output_index, e.item]));
  assert.deepEqual(
    final.output,
    added.map((e) => doneByIndex.get(e.output_index)),
  );
  for (const e of events.filter((x) => x.item_id !== undefined)) {
    assert.equal(e.item_id, added[e.output_index]?.item.id, `${e.type} names its item`);
  }

  // Text: content_part.added → deltas → output_text.done → content_part.done, all agreeing.
  for (const item of final.output.filter((i) => (i as { type: string }).type === 'message')) {
    const id = (item as { id: string }).id;
    const own = events.filter((e) => e.item_id === id);
    assert.deepEqual(
      [...new Set(own.map((e) => e.type))],
      [
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
      ],
    );
    const text = own.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta);
    const doneText = own.find((e) => e.type === 'response.output_text.done').text;
    assert.equal(text.join(''), doneText);
    assert.equal((item as { content: { text: string }[] }).content[0]?.text, doneText);
  }

  // Reasoning: summary_part.added → text deltas → summary_text.done → summary_part.done, all agreeing.
  for (const item of final.output.filter((i) => (i as { type: string }).type === 'reasoning')) {
    const id = (item as { id: string }).id;
    const own = events.filter((e) => e.item_id === id);
    assert.deepEqual(
      [...new Set(own.map((e) => e.type))],
      [
        'response.reasoning_summary_part.added',
        'response.reasoning_summary_text.delta',
        'response.reasoning_summary_text.done',
        'response.reasoning_summary_part.done',
      ],
    );
    const text = own.filter((e) => e.type === 'response.reasoning_summary_text.delta').map((e) => e.delta);
    const doneText = own.find((e) => e.type === 'response.reasoning_summary_text.done').text;
    assert.equal(text.join(''), doneText);
    assert.deepEqual((item as { summary: unknown[] }).summary, [{ type: 'summary_text', text: doneText }]);
  }
  return final;
}

function expectValid<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    assert.fail(`${where} does not conform: ${problems}\n${JSON.stringify(value)}`);
  }
  return parsed.data;
}

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t?.close();
});

async function post(server: TestServer, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${server.baseURL}/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
}

async function streamed(server: TestServer, body: Record<string, unknown>): Promise<ResponseResource> {
  const res = await post(server, { ...body, stream: true });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const final = checkStream(responseEvents(await res.text()));
  await expectSameFromGet(server, final);
  return final;
}

async function notStreamed(server: TestServer, body: Record<string, unknown>): Promise<ResponseResource> {
  const res = await post(server, body);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const final = (await res.json()) as ResponseResource;
  checkResponse(final, 'response');
  await expectSameFromGet(server, final);
  return final;
}

async function expectSameFromGet(server: TestServer, final: ResponseResource): Promise<void> {
  const res = await fetch(`${server.baseURL}/responses/${final.id}`);
  assert.equal(res.status, 200);
  const stored = await res.json();
  checkResponse(stored, 'GET');
  assert.deepEqual(stored, final);
}

describe('Open Responses conformance', { timeout: 60_000 }, () => {
  it('a plain text turn, streamed: every event and the final object conform', async () => {
    t.upstream.enqueue({ text: ['Hel', 'lo ', 'there'] });
    const final = await streamed(t, { model: 'herald', input: 'hi' });
    assert.equal(final.status, 'completed');
    // The documented defaults of every field the client did not send.
    assert.deepEqual(
      {
        tools: final.tools,
        tool_choice: final.tool_choice,
        text: final.text,
        temperature: final.temperature,
        top_p: final.top_p,
        presence_penalty: final.presence_penalty,
        frequency_penalty: final.frequency_penalty,
        top_logprobs: final.top_logprobs,
        max_tool_calls: final.max_tool_calls,
        service_tier: final.service_tier,
        safety_identifier: final.safety_identifier,
        prompt_cache_key: final.prompt_cache_key,
        reasoning: final.reasoning,
        truncation: final.truncation,
        parallel_tool_calls: final.parallel_tool_calls,
        background: final.background,
      },
      {
        tools: [],
        tool_choice: 'auto',
        text: { format: { type: 'text' }, verbosity: 'medium' },
        temperature: 1,
        top_p: 1,
        presence_penalty: 0,
        frequency_penalty: 0,
        top_logprobs: 0,
        max_tool_calls: null,
        service_tier: 'default',
        safety_identifier: null,
        prompt_cache_key: null,
        reasoning: { effort: null, summary: null },
        truncation: 'disabled',
        parallel_tool_calls: true,
        background: false,
      },
    );
  });

  it('a plain text turn, not streamed: the object conforms and GET returns it unchanged', async () => {
    t.upstream.enqueue({ text: 'Hello there' });
    const final = await notStreamed(t, {
      model: 'herald',
      input: [{ type: 'message', role: 'user', content: 'hi' }],
    });
    assert.equal(final.status, 'completed');
  });

  it('a hosted tool turn (mcp_call items) conforms, tool items included', async () => {
    t.upstream.enqueue(
      { text: 'Let me look. ', toolCalls: [{ name: 'read_file', arguments: { path: 'missing.txt' } }] },
      { text: 'The file is missing.' },
    );
    const final = await streamed(t, { model: 'herald', input: 'read missing.txt' });
    assert.equal(final.status, 'completed');
    const types = final.output.map((i) => (i as { type: string }).type);
    assert.deepEqual(types, ['message', 'mcp_call', 'message']);
  });

  it('a reasoning turn (reasoning items around a hosted tool) conforms, streamed and not', async () => {
    const turns = () =>
      t.upstream.enqueue(
        {
          reasoning: ['I should ', 'look.'],
          toolCalls: [{ name: 'terminal', arguments: { command: 'echo' } }],
        },
        { reasoning: 'Nothing there.', text: 'Empty.', reasoningTokens: 3 },
      );
    turns();
    const final = await streamed(t, { model: 'herald', input: 'look' });
    const types = final.output.map((i) => (i as { type: string }).type);
    assert.deepEqual(types, ['reasoning', 'mcp_call', 'reasoning', 'message']);
    assert.equal(final.usage?.output_tokens_details.reasoning_tokens, 3);
    turns();
    const plain = await notStreamed(t, { model: 'herald', input: 'look' });
    assert.deepEqual(
      plain.output.map((i) => (i as { type: string }).type),
      types,
    );
  });

  it('a client tool call (function_call item) conforms and completes the response', async () => {
    t.upstream.enqueue({ toolCalls: [{ name: 'lookup', arguments: { q: 'x' } }] });
    const final = await streamed(t, {
      model: 'herald',
      input: 'look it up',
      tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object' } }],
    });
    assert.equal(final.status, 'completed');
    const types = final.output.map((i) => (i as { type: string }).type);
    assert.deepEqual(types, ['function_call']);
  });

  it('a failed run ends with response.failed carrying an error, then [DONE]', async () => {
    t.upstream.enqueue({ status: 500 });
    const final = await streamed(t, { model: 'herald', input: 'fail please' });
    assert.equal(final.status, 'failed');
    assert.ok(final.error?.message);
  });

  it('a run cut by max_output_tokens is incomplete, streamed and not', async () => {
    t.upstream.enqueue({ text: 'A long answer that was cut', finishReason: 'length' });
    const cut = await streamed(t, { model: 'herald', input: 'go on', max_output_tokens: 16 });
    assert.equal(cut.status, 'incomplete');
    assert.deepEqual(cut.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(cut.max_output_tokens, 16);
    t.upstream.enqueue({ text: 'Also cut', finishReason: 'length' });
    const plain = await notStreamed(t, { model: 'herald', input: 'go on', max_output_tokens: 16 });
    assert.equal(plain.status, 'incomplete');
  });

  it('echoes tools in full and the sampling settings the client sent', async () => {
    t.upstream.enqueue({ text: '{"ok":true}' });
    const final = await streamed(t, {
      model: 'herald',
      input: 'json please',
      tools: [{ type: 'function', name: 'lookup' }],
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' } } },
      reasoning: { effort: 'low' },
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      top_logprobs: 3,
      max_tool_calls: 4,
      safety_identifier: 'user-42',
      prompt_cache_key: 'cache-1',
    });
    assert.deepEqual(final.tools, [
      { type: 'function', name: 'lookup', description: null, parameters: null, strict: true },
    ]);
    assert.deepEqual(final.text.format, {
      type: 'json_schema',
      name: 'answer',
      schema: { type: 'object' },
      description: null,
      strict: false,
    });
    assert.equal(final.reasoning?.effort, 'low');
    assert.equal(final.presence_penalty, 0.5);
    assert.equal(final.frequency_penalty, -0.5);
    assert.equal(final.top_logprobs, 3);
    assert.equal(final.max_tool_calls, 4);
    assert.equal(final.safety_identifier, 'user-42');
    assert.equal(final.prompt_cache_key, 'cache-1');
  });
});
