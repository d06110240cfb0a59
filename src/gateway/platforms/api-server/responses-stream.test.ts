import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResponseBuilder, type ResponseSettings, type ResponseStreamEvent } from './responses-stream.ts';

const settings: ResponseSettings = {
  id: 'resp_test',
  createdAt: 1_800_000_000,
  model: 'herald',
  instructions: null,
  previousResponseId: null,
  conversationId: null,
  store: true,
  metadata: {},
  maxOutputTokens: null,
  maxToolCalls: null,
  temperature: 1,
  topP: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  topLogprobs: 0,
  tools: [],
  toolChoice: 'auto',
  parallelToolCalls: true,
  text: { format: { type: 'text' }, verbosity: 'medium' },
  reasoning: { effort: null, summary: null },
  truncation: 'disabled',
  user: null,
  safetyIdentifier: null,
  promptCacheKey: null,
};
const usage = { promptTokens: 5, completionTokens: 2, totalTokens: 7, estimated: false };

describe('ResponseBuilder', () => {
  it('closes the text before a tool call as its own message and starts a new one after the tools', async () => {
    const events: ResponseStreamEvent[] = [];
    const builder = new ResponseBuilder(settings, {
      sink: async (e) => {
        events.push(e);
      },
    });
    await builder.start();
    await builder.apply({ type: 'text-delta', text: 'Let me look.' });
    await builder.apply({
      type: 'tool-call-start',
      toolCallId: 'c1',
      name: 'terminal',
      arguments: '{}',
      label: 'x',
    });
    await builder.apply({
      type: 'tool-call-end',
      toolCallId: 'c1',
      name: 'terminal',
      result: 'done',
      isError: false,
    });
    await builder.apply({ type: 'text-delta', text: 'Found it.' });
    const finished = await builder.finish(
      { kind: 'done', event: { type: 'done', text: '', finishReason: 'stop', usage, messages: [] } },
      1_800_000_001,
    );
    await builder.sendTerminal(finished);

    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    assert.deepEqual(
      finished.output.map((i) => [i.type, i.status]),
      [
        ['message', 'completed'],
        ['mcp_call', 'completed'],
        ['message', 'completed'],
      ],
    );
    assert.deepEqual(
      finished.output.map(
        (_, i) => events.filter((e) => e.type === 'response.output_item.done' && e.output_index === i).length,
      ),
      [1, 1, 1],
    );
    assert.equal(events.at(-1)?.type, 'response.completed');
    assert.deepEqual((events.at(-1)!.response as { usage: unknown }).usage, {
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 2,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 7,
    });
  });

  it('marks a cut-short run incomplete and keeps its partial text', async () => {
    const builder = new ResponseBuilder(settings);
    await builder.start();
    await builder.apply({ type: 'text-delta', text: 'half' });
    const cancelled = await builder.finish({ kind: 'cancelled', usage }, 1);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.output[0]?.status, 'incomplete');
    assert.deepEqual((cancelled.output[0]!.content as { text: string }[])[0]?.text, 'half');
    assert.equal(cancelled.terminal, 'response.incomplete');
  });

  it('reports a run that hit the step limit as incomplete with reason max_output_tokens', async () => {
    const builder = new ResponseBuilder(settings);
    const finished = await builder.finish(
      { kind: 'done', event: { type: 'done', text: '', finishReason: 'length', usage, messages: [] } },
      1,
    );
    assert.equal(finished.status, 'incomplete');
    assert.deepEqual(finished.body.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(finished.terminal, 'response.incomplete');
  });

  it('shows each tool the agent ran as one hosted mcp_call item, completed with its result', async () => {
    const events: ResponseStreamEvent[] = [];
    const builder = new ResponseBuilder(settings, {
      sink: async (e) => {
        events.push(e);
      },
    });
    await builder.start();
    await builder.apply({
      type: 'tool-call-start',
      toolCallId: 'a',
      name: 'terminal',
      arguments: '{"c":1}',
      label: '',
    });
    await builder.apply({
      type: 'tool-call-start',
      toolCallId: 'b',
      name: 'read_file',
      arguments: '{}',
      label: '',
    });
    await builder.apply({
      type: 'tool-call-end',
      toolCallId: 'b',
      name: 'read_file',
      result: 'no such file',
      isError: true,
    });
    await builder.apply({
      type: 'tool-call-end',
      toolCallId: 'a',
      name: 'terminal',
      result: 'ok',
      isError: false,
    });
    await builder.apply({ type: 'text-delta', text: 'Done.' });
    const finished = await builder.finish(
      { kind: 'done', event: { type: 'done', text: '', finishReason: 'stop', usage, messages: [] } },
      1,
    );
    assert.deepEqual(
      finished.output.map((i) => [i.type, i.name ?? null, i.status, i.output ?? null, i.error ?? null]),
      [
        ['mcp_call', 'terminal', 'completed', 'ok', null],
        ['mcp_call', 'read_file', 'failed', 'no such file', 'no such file'],
        ['message', null, 'completed', null, null],
      ],
    );
    assert.deepEqual(
      events.slice(2, 6).map((e) => e.type),
      [
        'response.output_item.added',
        'response.mcp_call_arguments.delta',
        'response.mcp_call_arguments.done',
        'response.mcp_call.in_progress',
      ],
    );
    assert.ok(events.some((e) => e.type === 'response.mcp_call.failed' && e.output_index === 1));
  });

  it('ends a turn paused on client tools with function_call items streamed like OpenAI, status completed', async () => {
    const events: ResponseStreamEvent[] = [];
    const builder = new ResponseBuilder(settings, {
      sink: async (e) => {
        events.push(e);
      },
    });
    await builder.start();
    await builder.apply({ type: 'text-delta', text: 'Checking.' });
    const clientToolCalls = [
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { id: 'call_b', name: 'get_time', arguments: '' },
    ];
    const finished = await builder.finish(
      {
        kind: 'done',
        event: { type: 'done', text: '', finishReason: 'tool_calls', usage, messages: [], clientToolCalls },
      },
      1,
    );
    await builder.sendTerminal(finished);
    assert.equal(finished.status, 'completed');
    assert.deepEqual(
      finished.output.map((i) => [i.type, i.call_id ?? null, i.name ?? null, i.arguments ?? null, i.status]),
      [
        ['message', null, null, null, 'completed'],
        ['function_call', 'call_a', 'get_weather', '{"city":"Oslo"}', 'completed'],
        ['function_call', 'call_b', 'get_time', '', 'completed'],
      ],
    );
    assert.match(String(finished.output[1]?.id), /^fc_/);
    const callEvents = events.filter((e) => e.output_index === 1).map((e) => e.type);
    assert.deepEqual(callEvents, [
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
    ]);
    assert.equal(events.at(-1)?.type, 'response.completed');
  });
});
