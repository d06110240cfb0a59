/**
 * Client tools through the official `openai` SDK on both APIs: the function tools a request declares
 * are offered to the model beside Herald's own; a call to one pauses the run and comes back exactly as
 * OpenAI hands it out (Chat Completions `tool_calls` with `finish_reason: "tool_calls"`, Responses
 * `function_call` items), streamed and not; the client's results resume the run with its full context,
 * Herald's own tool rounds included. Also: tool_choice variants, parallel calls, name clashes and tool
 * types Herald cannot serve.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { parseSse, startTestServer, type TestServer } from './api-test-server.ts';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
afterEach(() => t?.upstream.clear());
after(async () => {
  await t?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: upstream bodies are arbitrary JSON
type Wire = any;

const weatherParameters = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
  additionalProperties: false,
};
const chatTools: ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'The weather in a city.',
      parameters: weatherParameters,
      strict: true,
    },
  },
];
const responsesTools: OpenAI.Responses.FunctionTool[] = [
  {
    type: 'function',
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: weatherParameters,
    strict: true,
  },
];

const upstreamBody = (fromEnd = 1): Wire => t.upstream.requests.at(-fromEnd)?.body;
/** The upstream conversation without the system prompt, as `role` or `assistant:<tool names>`. */
const shapeOf = (body: Wire): string[] =>
  body.messages
    .slice(1)
    .map((m: Wire) =>
      m.role === 'assistant' && m.tool_calls
        ? `assistant:${m.tool_calls.map((c: Wire) => c.function.name).join('+')}`
        : m.role,
    );
/** Herald's read_file round, then the client's get_weather round, each call answered. */
const hostedThenClientRound = ['user', 'assistant:read_file', 'tool', 'assistant:get_weather', 'tool'];
const toolNamesOf = (body: Wire): string[] => (body.tools ?? []).map((x: Wire) => x.function.name);

describe('client tools on Chat Completions', { timeout: 30_000 }, () => {
  it('returns a call to a client tool as tool_calls with finish_reason tool_calls, then resumes on the result', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_w', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { text: 'Sunny in Oslo.' },
    );
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Oslo?' }];
    const first = await t.client.chat.completions.create({ model: 'herald', messages, tools: chatTools });
    const choice = first.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.deepEqual(choice.message.tool_calls, [
      { id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
    ]);
    // Offered beside Herald's tools, schema and strict untouched; no tool_choice unless the client sent one.
    const offered = upstreamBody().tools.find((x: Wire) => x.function.name === 'get_weather');
    assert.deepEqual(offered, chatTools[0]);
    assert.ok(toolNamesOf(upstreamBody()).includes('terminal'));
    assert.equal('tool_choice' in upstreamBody(), false);

    messages.push(choice.message, { role: 'tool', tool_call_id: 'call_w', content: 'sunny' });
    const second = await t.client.chat.completions.create({ model: 'herald', messages, tools: chatTools });
    assert.equal(second.choices[0]?.message.content, 'Sunny in Oslo.');
    assert.equal(second.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(shapeOf(upstreamBody()), ['user', 'assistant:get_weather', 'tool']);
    assert.equal(upstreamBody().messages.at(-1).content, 'sunny');
  });

  it("streams the call as tool-call deltas that finalChatCompletion() reassembles; Herald's own call of the same turn stays hidden", async () => {
    t.upstream.enqueue(
      {
        text: 'Let me see.',
        toolCalls: [
          { id: 'call_r', name: 'read_file', arguments: { path: 'a.txt' } },
          { id: 'call_w', name: 'get_weather', arguments: { city: 'Oslo' } },
        ],
      },
      { text: 'No a.txt, and sunny.' },
    );
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Read a.txt and the weather' }];
    const stream = t.client.chat.completions.stream({ model: 'herald', messages, tools: chatTools });
    // Herald's own call shows as tool activity in reasoning_content (the default tool_progress).
    let reasoning = '';
    stream.on('chunk', (chunk) => {
      reasoning +=
        (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
    });
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, 'Let me see.');
    assert.deepEqual(
      choice.message.tool_calls?.map(
        (c) => c.type === 'function' && [c.id, c.function.name, c.function.arguments],
      ),
      [['call_w', 'get_weather', '{"city":"Oslo"}']],
    );
    assert.match(reasoning, /^⚙ `read_file: a\.txt`\n\n✗ `read_file` failed: .*\n\n$/);

    // The client's history has only its own call; the session transcript adds Herald's round back.
    messages.push(choice.message, { role: 'tool', tool_call_id: 'call_w', content: 'sunny' });
    const answer = await t.client.chat.completions
      .stream({ model: 'herald', messages, tools: chatTools })
      .finalChatCompletion();
    assert.equal(answer.choices[0]?.message.content, 'No a.txt, and sunny.');
    assert.deepEqual(shapeOf(upstreamBody()), ['user', 'assistant:read_file+get_weather', 'tool', 'tool']);
    const sent = upstreamBody().messages.slice(1);
    assert.deepEqual(
      sent.slice(2).map((m: Wire) => m.tool_call_id),
      ['call_r', 'call_w'],
    );
  });

  it("resumes a client call made in a later model turn than Herald's own, over two client rounds", async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_r', name: 'read_file', arguments: { path: 'b.txt' } }] },
      { toolCalls: [{ id: 'call_w1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { toolCalls: [{ id: 'call_w2', name: 'get_weather', arguments: { city: 'Bergen' } }] },
      { text: 'Both sunny.' },
    );
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Oslo and Bergen?' }];
    for (const [id, result] of [
      ['call_w1', 'sunny'],
      ['call_w2', 'sunny too'],
    ] as const) {
      const reply = await t.client.chat.completions.create({ model: 'herald', messages, tools: chatTools });
      const message = reply.choices[0]!.message;
      assert.equal(message.tool_calls?.[0]?.id, id);
      messages.push(message, { role: 'tool', tool_call_id: id, content: result });
    }
    const final = await t.client.chat.completions.create({ model: 'herald', messages, tools: chatTools });
    assert.equal(final.choices[0]?.message.content, 'Both sunny.');
    assert.deepEqual(shapeOf(upstreamBody()), [
      'user',
      'assistant:read_file',
      'tool',
      'assistant:get_weather',
      'tool',
      'assistant:get_weather',
      'tool',
    ]);
  });

  it('a regenerated client-tool round continues from the state it matches, not from the latest one', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_g1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { toolCalls: [{ id: 'call_g2', name: 'get_weather', arguments: { city: 'Rome' } }] },
      { text: 'regenerated' },
    );
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Oslo, then Rome?' }];
    const first = await t.client.chat.completions.create({ model: 'herald', messages, tools: chatTools });
    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: 'call_g1', content: 'sunny' });
    await t.client.chat.completions.create({ model: 'herald', messages, tools: chatTools });
    // The same request again (a regenerate): the model must not see the later call_g2 round.
    const again = await t.client.chat.completions.create({ model: 'herald', messages, tools: chatTools });
    assert.equal(again.choices[0]?.message.content, 'regenerated');
    assert.deepEqual(shapeOf(upstreamBody()), ['user', 'assistant:get_weather', 'tool']);
    assert.equal(upstreamBody().messages.at(-1).tool_call_id, 'call_g1');
  });

  it('a header session that paused on a client call and goes on with a new message never sends an open call upstream', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_h', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { text: 'fresh start' },
    );
    const { data, response } = await t.client.chat.completions
      .create({ model: 'herald', messages: [{ role: 'user', content: 'Weather?' }], tools: chatTools })
      .withResponse();
    assert.equal(data.choices[0]?.finish_reason, 'tool_calls');
    const session = response.headers.get('x-herald-session-id')!;
    const reply = await t.client.chat.completions.create(
      { model: 'herald', messages: [{ role: 'user', content: 'Something else.' }], tools: chatTools },
      { headers: { 'x-herald-session-id': session } },
    );
    assert.equal(reply.choices[0]?.message.content, 'fresh start');
    assert.deepEqual(shapeOf(upstreamBody()), ['user']);
  });

  it('hands back parallel client calls together, streamed with one index each, and passes parallel_tool_calls', async () => {
    t.upstream.enqueue({
      interleaveToolCalls: true,
      toolCalls: [
        { id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' } },
        { id: 'call_2', name: 'get_weather', arguments: { city: 'Rome' } },
      ],
    });
    const res = await fetch(`${t.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'herald',
        stream: true,
        messages: [{ role: 'user', content: 'Oslo and Rome?' }],
        tools: chatTools,
        parallel_tool_calls: true,
      }),
    });
    const chunks = parseSse(await res.text())
      .filter((f) => f.data !== '[DONE]' && f.event === undefined)
      .map((f) => JSON.parse(f.data));
    const fragments = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    assert.deepEqual(fragments, [
      { index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 0, function: { arguments: '{"city":"Oslo"}' } },
      { index: 1, id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 1, function: { arguments: '{"city":"Rome"}' } },
    ]);
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.deepEqual(
      finishes.map((c) => c.choices[0].finish_reason),
      ['tool_calls'],
    );
    assert.equal(upstreamBody().parallel_tool_calls, true);
  });

  it('honours tool_choice: none withholds the client tools, required and a named function go upstream once', async () => {
    const user: ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];
    t.upstream.enqueue({ text: 'no tools' });
    await t.client.chat.completions.create({
      model: 'herald',
      messages: user,
      tools: chatTools,
      tool_choice: 'none',
    });
    assert.equal(toolNamesOf(upstreamBody()).includes('get_weather'), false);
    assert.ok(toolNamesOf(upstreamBody()).includes('terminal'), "Herald's own tools stay available");
    assert.equal('tool_choice' in upstreamBody(), false);

    // `required` is met by Herald's tool too; the next model call may then answer in text.
    t.upstream.enqueue(
      { toolCalls: [{ name: 'read_file', arguments: { path: 'x' } }] },
      { text: 'answered' },
    );
    const required = await t.client.chat.completions.create({
      model: 'herald',
      messages: user,
      tools: chatTools,
      tool_choice: 'required',
    });
    assert.equal(required.choices[0]?.message.content, 'answered');
    assert.equal(upstreamBody(2).tool_choice, 'required');
    assert.equal('tool_choice' in upstreamBody(1), false);

    t.upstream.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const named = await t.client.chat.completions.create({
      model: 'herald',
      messages: user,
      tools: chatTools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    assert.equal(named.choices[0]?.finish_reason, 'tool_calls');
    assert.deepEqual(upstreamBody().tool_choice, { type: 'function', function: { name: 'get_weather' } });

    await assert.rejects(
      t.client.chat.completions.create({
        model: 'herald',
        messages: user,
        tools: chatTools,
        tool_choice: { type: 'function', function: { name: 'nope' } },
      }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'tool_choice',
    );
  });

  it("refuses a client tool named like one of Herald's tools, and tool types it cannot serve", async () => {
    const before = t.upstream.requests.length;
    await assert.rejects(
      t.client.chat.completions.create({
        model: 'herald',
        messages: [{ role: 'user', content: 'hi' }],
        tools: [chatTools[0]!, { type: 'function', function: { name: 'terminal', parameters: {} } }],
      }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError &&
        err.param === 'tools[1].function.name' &&
        err.code === 'tool_name_conflict' &&
        err.message.includes("'terminal'"),
    );
    await assert.rejects(
      t.client.chat.completions.create({
        model: 'herald',
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ type: 'custom', custom: { name: 'grammar' } }],
      }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError &&
        err.param === 'tools[0].type' &&
        err.message.includes("Supported: 'function'"),
    );
    assert.equal(t.upstream.requests.length, before, 'nothing reached the model');
  });
});

describe('a client tool call left without its result', { timeout: 30_000 }, () => {
  it('is a 400 on both APIs, as OpenAI answers, and never reaches the model', async () => {
    const before = t.upstream.requests.length;
    await assert.rejects(
      t.client.chat.completions.create({
        model: 'herald',
        tools: chatTools,
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_x', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
            ],
          },
          { role: 'user', content: 'never mind' },
        ],
      }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError &&
        err.param === 'messages[2]' &&
        err.code === 'tool_output_missing' &&
        err.message.includes('call_x'),
    );

    t.upstream.enqueue({ toolCalls: [{ id: 'call_y', name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const paused = await t.client.responses.create({
      model: 'herald',
      input: 'weather?',
      tools: responsesTools,
    });
    await assert.rejects(
      t.client.responses.create({ model: 'herald', input: 'never mind', previous_response_id: paused.id }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError &&
        err.code === 'tool_output_missing' &&
        err.message.includes('call_y'),
    );
    assert.equal(t.upstream.requests.length, before + 1, 'only the first Responses turn reached the model');
  });
});

describe('client tools on the Responses API', { timeout: 30_000 }, () => {
  it('returns a function_call item (status completed) and resumes on function_call_output via previous_response_id', async () => {
    t.upstream.enqueue(
      { text: 'Checking.', toolCalls: [{ id: 'call_w', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { text: 'Sunny in Oslo.' },
    );
    const first = await t.client.responses.create({
      model: 'herald',
      input: 'Weather in Oslo?',
      tools: responsesTools,
    });
    assert.equal(first.status, 'completed');
    assert.deepEqual(
      first.output.map((item) => item.type),
      ['message', 'function_call'],
    );
    const call = first.output[1] as OpenAI.Responses.ResponseFunctionToolCall;
    assert.match(call.id ?? '', /^fc_/);
    assert.deepEqual(
      [call.call_id, call.name, call.arguments, call.status],
      ['call_w', 'get_weather', '{"city":"Oslo"}', 'completed'],
    );
    const offered = upstreamBody().tools.find((x: Wire) => x.function.name === 'get_weather');
    assert.deepEqual(offered.function, {
      name: 'get_weather',
      description: 'The weather in a city.',
      parameters: weatherParameters,
      strict: true,
    });

    const second = await t.client.responses.create({
      model: 'herald',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: 'call_w', output: 'sunny' }],
      tools: responsesTools,
    });
    assert.equal(second.output_text, 'Sunny in Oslo.');
    assert.deepEqual(shapeOf(upstreamBody()), ['user', 'assistant:get_weather', 'tool']);
  });

  it('streams hosted mcp_call and client function_call items; finalResponse() assembles them; the chain resumes', async () => {
    t.upstream.enqueue(
      {
        toolCalls: [
          { id: 'call_r', name: 'read_file', arguments: { path: 'a.txt' } },
          { id: 'call_w', name: 'get_weather', arguments: { city: 'Oslo' } },
        ],
      },
      { text: 'No a.txt; sunny.' },
    );
    const stream = t.client.responses.stream({
      model: 'herald',
      input: 'a.txt and weather',
      tools: responsesTools,
    });
    const types: string[] = [];
    stream.on('event', (event) => types.push(event.type));
    const final = await stream.finalResponse();
    assert.equal(final.status, 'completed');
    assert.deepEqual(
      final.output.map((item) => `${item.type}:${'name' in item ? item.name : ''}`),
      ['mcp_call:read_file', 'function_call:get_weather'],
    );
    const mcp = final.output[0] as OpenAI.Responses.ResponseOutputItem.McpCall;
    assert.equal(mcp.server_label, 'herald');
    assert.match(mcp.output ?? '', /not found|no such/i);
    for (const type of [
      'response.mcp_call_arguments.done',
      'response.mcp_call.in_progress',
      'response.mcp_call.failed',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
    ]) {
      assert.ok(types.includes(type), type);
    }

    const answer = await t.client.responses.create({
      model: 'herald',
      previous_response_id: final.id,
      input: [{ type: 'function_call_output', call_id: 'call_w', output: 'sunny' }],
      tools: responsesTools,
    });
    assert.equal(answer.output_text, 'No a.txt; sunny.');
    // Herald's hosted call comes back as a call the upstream sees answered; then the client's.
    assert.deepEqual(shapeOf(upstreamBody()), hostedThenClientRound);
    assert.equal(upstreamBody().messages[3].content, mcp.output);
  });

  it('resumes from the whole input replayed (store: false), hosted mcp_call item included', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ id: 'call_r', name: 'read_file', arguments: { path: 'z.txt' } }] },
      { toolCalls: [{ id: 'call_w', name: 'get_weather', arguments: { city: 'Oslo' } }] },
      { text: 'Sunny.' },
    );
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: 'user', content: 'z.txt and weather' }];
    const first = await t.client.responses.create({
      model: 'herald',
      input,
      tools: responsesTools,
      store: false,
    });
    assert.deepEqual(
      first.output.map((item) => item.type),
      ['mcp_call', 'function_call'],
    );
    input.push(...(first.output as OpenAI.Responses.ResponseInputItem[]), {
      type: 'function_call_output',
      call_id: 'call_w',
      output: 'sunny',
    });
    const second = await t.client.responses.create({
      model: 'herald',
      input,
      tools: responsesTools,
      store: false,
    });
    assert.equal(second.output_text, 'Sunny.');
    assert.deepEqual(shapeOf(upstreamBody()), hostedThenClientRound);
  });

  it('passes tool_choice in its Responses shape and refuses clashes and hosted tool types with a 400', async () => {
    t.upstream.enqueue({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
    const named = await t.client.responses.create({
      model: 'herald',
      input: 'weather',
      tools: responsesTools,
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
    });
    assert.equal(named.output[0]?.type, 'function_call');
    assert.deepEqual(upstreamBody().tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.equal(upstreamBody().parallel_tool_calls, false);

    const before = t.upstream.requests.length;
    await assert.rejects(
      t.client.responses.create({
        model: 'herald',
        input: 'hi',
        stream: true,
        tools: [{ type: 'function', name: 'read_file', parameters: {}, strict: false }],
      }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError &&
        err.param === 'tools[0].name' &&
        err.code === 'tool_name_conflict',
    );
    for (const type of [
      'web_search',
      'web_search_preview',
      'file_search',
      'code_interpreter',
      'image_generation',
      'mcp',
    ]) {
      await assert.rejects(
        t.client.responses.create({ model: 'herald', input: 'hi', tools: [{ type } as never] }),
        (err: unknown) =>
          err instanceof OpenAI.BadRequestError &&
          err.param === 'tools[0].type' &&
          err.message.includes(`'${type}'`) &&
          err.message.includes("Supported: 'function'"),
        type,
      );
    }
    assert.equal(t.upstream.requests.length, before, 'nothing reached the model');
  });
});
