import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatMessage, ModelDelta, ModelRequest } from '../model/index.ts';
import {
  ContextCompactor,
  compactedConversation,
  foldCompaction,
  summaryMessage,
} from './context-compactor.ts';

/** A model client that answers every call with a numbered summary and records what it was asked. */
class SummaryModel {
  readonly requests: ModelRequest[] = [];
  readonly window: number | undefined;
  constructor(window?: number) {
    this.window = window;
  }
  async *stream(request: ModelRequest): AsyncIterable<ModelDelta> {
    this.requests.push(request);
    yield { type: 'text', text: `summary ${this.requests.length}` };
    const usage = { promptTokens: 100, completionTokens: 10, totalTokens: 110, estimated: false };
    yield { type: 'finish', finishReason: 'stop', toolCalls: [], usage };
  }
  async contextWindow(): Promise<number | undefined> {
    return this.window;
  }
}

/** One token per character: sizes are easy to reason about. */
const countChars = async (messages: readonly ChatMessage[]) =>
  messages.map(
    (m) =>
      JSON.stringify(m.content ?? '').length + ('toolCalls' in m ? JSON.stringify(m.toolCalls).length : 0),
  );

const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const x = (n: number) => 'x'.repeat(n);
const request = { model: 'm', maxTokens: 100 };
const signal = new AbortController().signal;

// Window 1100, reserve 100: threshold 800, keep 320, chunk 480.
function compactor(model = new SummaryModel()) {
  return { model, compactor: new ContextCompactor({ model, contextWindow: 1100, countTokens: countChars }) };
}

describe('ContextCompactor', () => {
  it('leaves a conversation below the threshold alone and asks no model', async () => {
    const { model, compactor: c } = compactor();
    const messages = [
      { role: 'system', content: 'sys' } as ChatMessage,
      user('hi'),
      assistant('hello'),
      user('more'),
    ];
    assert.equal(await c.compact(messages, request, { signal }), undefined);
    assert.equal(model.requests.length, 0);
  });

  it('summarises the older turns and keeps the recent ones verbatim', async () => {
    const { model, compactor: c } = compactor();
    const messages: ChatMessage[] = [
      { role: 'system', content: 'sys' },
      user(x(300)),
      assistant(x(300)),
      user(x(150)),
      assistant(x(100)),
      user('latest'),
    ];
    const result = await c.compact(messages, request, { signal });
    assert.ok(result);
    assert.deepEqual(result.messages, [
      { role: 'system', content: 'sys' },
      summaryMessage(result.summary),
      user(x(150)),
      assistant(x(100)),
      user('latest'),
    ]);
    assert.equal(result.summarised, 2);
    assert.equal(result.usage.totalTokens, 110 * model.requests.length);
    // Summarisation calls go without tools and read the summarised turns only.
    assert.ok(model.requests.length > 0);
    for (const call of model.requests) {
      assert.equal(call.tools, undefined);
      assert.equal(call.messages[0]!.role, 'system');
      assert.doesNotMatch(String(call.messages[1]!.content), /latest|\bx{150}\b/);
    }
    assert.match(String(model.requests[0]!.messages[1]!.content), /\[user\] x{300}/);
  });

  it('never starts the kept part with a tool result: a tool round stays whole', async () => {
    const { compactor: c } = compactor();
    const messages: ChatMessage[] = [
      { role: 'system', content: 'sys' },
      user(x(500)),
      { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'read', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'c1', content: x(250) },
      { role: 'tool', toolCallId: 'c1', content: x(50) },
    ];
    const result = await c.compact(messages, request, { signal });
    assert.ok(result);
    assert.equal(result.summarised, 1);
    assert.deepEqual(result.messages.slice(2), messages.slice(2));
  });

  it('keeps an assistant tool call whose results are not all present, and everything after it', async () => {
    const { compactor: c } = compactor();
    const unanswered: ChatMessage = {
      role: 'assistant',
      content: null,
      toolCalls: [
        { id: 'a', name: 'client_tool', arguments: '{}' },
        { id: 'b', name: 'client_tool', arguments: '{}' },
      ],
    };
    const messages: ChatMessage[] = [
      user(x(300)),
      unanswered,
      { role: 'tool', toolCallId: 'a', content: x(400) },
      user(x(300)),
    ];
    const result = await c.compact(messages, request, { signal });
    assert.ok(result);
    assert.deepEqual(result.messages, [summaryMessage('summary 1'), ...messages.slice(1)]);
  });

  it('does not compact when nothing but the kept turn exists', async () => {
    const { model, compactor: c } = compactor();
    assert.equal(await c.compact([user(x(2000))], request, { signal }), undefined);
    assert.equal(model.requests.length, 0);
  });

  it("uses the upstream's reported window and prompt tokens", async () => {
    const model = new SummaryModel(100_000);
    const c = new ContextCompactor({ model, countTokens: countChars });
    const messages = [user(x(2000)), assistant(x(2000)), user('next')];
    assert.equal(await c.compact(messages, request, { signal }), undefined, 'far below a 100k window');
    const observed = { messages: 2, promptTokens: 90_000 };
    const result = await c.compact(messages, request, { signal, observed });
    assert.ok(result, 'the upstream said the prompt is near the window');
  });

  it('summarises a history larger than one call can read in several folded calls', async () => {
    const { model, compactor: c } = compactor();
    const messages: ChatMessage[] = [];
    for (let i = 0; i < 6; i++) messages.push(user(x(300)), assistant(x(300)));
    messages.push(user('now'));
    const result = await c.compact(messages, request, { signal });
    assert.ok(result);
    assert.ok(model.requests.length > 1);
    // Each later call carries the previous summary forward; the result is the last one.
    assert.match(String(model.requests[1]!.messages[1]!.content), /^Previous summary:\nsummary 1/);
    assert.equal(result.summary, `summary ${model.requests.length}`);
  });

  it('with force, compacts a short conversation down to its last turn', async () => {
    const { compactor: c } = compactor();
    const messages = [user('a'), assistant('b'), user('c'), assistant('d'), user('e')];
    const result = await c.compact(messages, request, { signal, force: true });
    assert.ok(result);
    assert.deepEqual(result.messages, [summaryMessage('summary 1'), user('e')]);
  });

  it('folds a second compaction of a run into one prefix of the conversation', async () => {
    const first = foldCompaction(undefined, { messages: [], summary: 's1', summarised: 4, usage: zero() });
    assert.deepEqual(first, { summary: 's1', replaces: 4 });
    // The second compaction replaced the first summary and 3 more messages.
    const second = foldCompaction(first, { messages: [], summary: 's2', summarised: 4, usage: zero() });
    assert.deepEqual(second, { summary: 's2', replaces: 7 });
    const conversation = ['1', '2', '3', '4', '5', '6', '7', '8'].map(user);
    assert.deepEqual(compactedConversation(conversation, second), [summaryMessage('s2'), user('8')]);
  });

  it('a stored summary loaded back is not summarised again on its own', async () => {
    const { model, compactor: c } = compactor();
    const messages = [summaryMessage(x(100)), user(x(900))];
    assert.equal(await c.compact(messages, request, { signal }), undefined);
    assert.equal(model.requests.length, 0);
  });
});

function zero() {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, estimated: false };
}
