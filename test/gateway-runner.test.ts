/**
 * GatewayRunner behaviour with an in-test chat platform and a scripted AgentRunner: start retries,
 * interruption, access control, history bounds, compaction (with the real agent against a scripted
 * upstream), and the config-driven pieces (platform factory, streaming settings).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { AgentEvent, AgentInput, AgentRunner } from '../src/agent/index.ts';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import {
  type ChatPlatform,
  conversationKey,
  createChatPlatforms,
  GatewayRunner,
  type InboundMessage,
  type PlatformAdapter,
  type PlatformLimits,
  type ReplyTarget,
  resolveStreamingSettings,
  type SentMessage,
} from '../src/gateway/index.ts';
import { silentLogger } from '../src/logger.ts';
import { RunAbortedError } from '../src/model/errors.ts';
import { createModelClient } from '../src/model/index.ts';
import type { ChatMessage } from '../src/model/types.ts';
import { zeroUsage } from '../src/model/types.ts';
import { openDatabase, type SessionStore, SqliteSessionStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import { type RecordedRequest, ScriptedUpstream } from './support/scripted-upstream.ts';

class MemorySessions implements SessionStore {
  readonly data = new Map<string, ChatMessage[]>();
  readonly summaries = new Map<string, { summary: ChatMessage; after: number }>();
  async load(key: string, limit?: number) {
    const summary = this.summaries.get(key);
    const rest = (this.data.get(key) ?? []).slice(summary?.after ?? 0);
    const window = limit === undefined ? rest : rest.slice(-limit);
    return summary ? [summary.summary, ...window] : window;
  }
  async append(key: string, messages: ChatMessage[]) {
    this.data.set(key, [...(this.data.get(key) ?? []), ...messages]);
  }
  async compact(key: string, summary: ChatMessage, keep: number) {
    const after = Math.max(this.summaries.get(key)?.after ?? 0, (this.data.get(key)?.length ?? 0) - keep);
    this.summaries.set(key, { summary, after });
  }
  async reset(key: string) {
    this.data.delete(key);
    this.summaries.delete(key);
  }
  async count(key: string) {
    return this.data.get(key)?.length ?? 0;
  }
}

class FakeChat implements ChatPlatform {
  readonly name = 'telegram' as const;
  readonly limits = {
    maxMessageLength: 4096,
    countLength: (t: string) => t.length,
    defaultEditIntervalMs: 10,
  };
  readonly texts = new Map<string, string>();
  startAttempts = 0;
  failStarts = 0;
  stopped = false;
  #handler: ((message: InboundMessage) => void) | undefined;
  #id = 1;

  onMessage(handler: (message: InboundMessage) => void) {
    this.#handler = handler;
  }
  async start() {
    this.startAttempts++;
    if (this.startAttempts <= this.failStarts) throw new Error('connect ECONNREFUSED');
  }
  async stop() {
    this.stopped = true;
  }
  async send(_target: ReplyTarget, text: string): Promise<SentMessage> {
    const id = String(this.#id++);
    this.texts.set(id, text);
    return { id };
  }
  async edit(_target: ReplyTarget, message: SentMessage, text: string) {
    this.texts.set(message.id, text);
  }
  async delete(_target: ReplyTarget, message: SentMessage) {
    this.texts.delete(message.id);
  }
  async sendTyping() {}

  receive(text: string, overrides: Partial<InboundMessage> = {}) {
    this.#handler!({
      platform: 'telegram',
      chatId: '1',
      userId: '7',
      messageId: String(Math.random()),
      text,
      isPrivate: true,
      addressedToBot: true,
      ...overrides,
    });
  }
  visible(): string[] {
    return [...this.texts.values()];
  }
}

/** Answers `You said: <last user text>` slowly, honouring the abort signal. */
class EchoAgent implements AgentRunner {
  readonly inputs: AgentInput[] = [];
  delayMs = 0;
  async *run(input: AgentInput): AsyncIterable<AgentEvent> {
    this.inputs.push(input);
    const last = input.messages.at(-1)!;
    const text = `You said: ${String(last.content)}`;
    let streamed = '';
    for (const char of text) {
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      if (input.signal.aborted) {
        const messages: ChatMessage[] = streamed ? [{ role: 'assistant', content: streamed }] : [];
        yield { type: 'error', error: new RunAbortedError(), text: streamed, usage: zeroUsage(), messages };
        return;
      }
      streamed += char;
      yield { type: 'text-delta', text: char };
    }
    const messages: ChatMessage[] = [{ role: 'assistant', content: text }];
    yield { type: 'done', text, finishReason: 'stop', usage: zeroUsage(), messages };
  }
}

function makeConfig(overrides: Record<string, unknown> = {}): HeraldConfig {
  return {
    ...configSchema.parse({ platforms: { telegram: { allowed_users: [7] } }, ...overrides }),
    home: '/tmp/herald-unused',
  };
}

async function waitUntil(predicate: () => boolean, what: string) {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A started gateway serving one FakeChat with an EchoAgent; stopped when the test ends. */
async function startGateway(t: TestContext, config: HeraldConfig) {
  const chat = new FakeChat();
  const agent = new EchoAgent();
  const gateway = new GatewayRunner({
    config,
    agent,
    sessions: new MemorySessions(),
    platforms: [chat],
    logger: silentLogger(),
  });
  t.after(() => gateway.stop());
  await gateway.start();
  return { chat, agent, gateway };
}

describe('GatewayRunner', () => {
  it('retries a platform that fails to start, with backoff, while the others serve', async (t) => {
    const failing = new FakeChat();
    failing.failStarts = 2;
    const healthy = new FakeChat();
    const agent = new EchoAgent();
    const gateway = new GatewayRunner({
      config: makeConfig(),
      agent,
      sessions: new MemorySessions(),
      platforms: [failing, healthy],
      logger: silentLogger(),
      startRetry: { initialDelayMs: 5, maxDelayMs: 20 },
    });
    t.after(() => gateway.stop());
    await gateway.start();
    assert.equal(failing.startAttempts, 1);
    healthy.receive('ping');
    await waitUntil(() => healthy.visible().includes('You said: ping'), 'healthy platform answer');
    await waitUntil(() => failing.startAttempts === 3, 'two retries');
    await gateway.stop();
    assert.ok(failing.stopped && healthy.stopped);
  });

  it('stop() reaches a platform whose start() is still pending, so shutdown never waits on it', async () => {
    let release: (() => void) | undefined;
    const hanging: PlatformAdapter = {
      name: 'hanging',
      start: () =>
        new Promise<void>((_resolve, reject) => {
          release = () => reject(new Error('start aborted'));
        }),
      stop: async () => release?.(),
    };
    const gateway = new GatewayRunner({
      config: makeConfig(),
      agent: new EchoAgent(),
      sessions: new MemorySessions(),
      platforms: [hanging],
      logger: silentLogger(),
    });
    const started = gateway.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await gateway.stop();
    const outcome = await Promise.race([
      started.then(() => 'settled'),
      new Promise((resolve) => setTimeout(() => resolve('still pending'), 5_000)),
    ]);
    assert.equal(outcome, 'settled');
  });

  it('with interrupt_on_new_message aborts the running reply and answers everything pending at once', async (t) => {
    const { chat, agent, gateway } = await startGateway(
      t,
      makeConfig({ gateway: { interrupt_on_new_message: true } }),
    );
    agent.delayMs = 5;
    chat.receive('a long question');
    await waitUntil(() => agent.inputs.length === 1, 'first run');
    await new Promise((resolve) => setTimeout(resolve, 20));
    chat.receive('actually, this');
    await waitUntil(() => agent.inputs.length === 2, 'second run');
    await gateway.idle();
    assert.equal(agent.inputs[0]!.signal.aborted, true);
    const second = agent.inputs[1]!.messages;
    assert.deepEqual(second.at(-1), { role: 'user', content: 'actually, this' });
    // The interrupted turn is in the history with its partial answer.
    assert.equal(second[0]!.role, 'user');
    assert.equal(second[1]!.role, 'assistant');
    assert.ok(chat.visible().includes('You said: actually, this'));
  });

  it('gives nobody a run when the allow-list is empty', async (t) => {
    const { chat, agent } = await startGateway(t, { ...configSchema.parse({}), home: '/tmp/herald-unused' });
    chat.receive('hello');
    await waitUntil(() => chat.visible().length === 1, 'refusal');
    assert.match(chat.visible()[0]!, /allow-list/);
    chat.receive('hello again');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(chat.visible().length, 1, 'the refusal is sent once');
    assert.equal(agent.inputs.length, 0);
  });

  it('sends at most history_max_messages of history, starting at a user turn', async (t) => {
    const { chat, agent, gateway } = await startGateway(
      t,
      makeConfig({ gateway: { history_max_messages: 3 } }),
    );
    for (const text of ['one', 'two']) {
      chat.receive(text);
      await waitUntil(() => chat.visible().includes(`You said: ${text}`), text);
      await gateway.idle();
    }
    chat.receive('three');
    await waitUntil(() => agent.inputs.length === 3, 'third run');
    await gateway.idle();
    // Last 3 stored = [assistant(one), user(two), assistant(two)]; the leading assistant is dropped.
    assert.deepEqual(agent.inputs[2]!.messages, [
      { role: 'user', content: 'two' },
      { role: 'assistant', content: 'You said: two' },
      { role: 'user', content: 'three' },
    ]);
    assert.equal(agent.inputs[2]!.platform, 'telegram');
  });

  it('compacts a long conversation instead of cutting it, and reuses the stored summary', async (t) => {
    const isSummariser = (req: RecordedRequest) =>
      String(req.body?.messages?.[0]?.content ?? '').startsWith('You compact a conversation');
    let replies = 0;
    const upstream = await ScriptedUpstream.start({
      responder: (req) => ({ text: isSummariser(req) ? 'SUMMARY' : `ok-${++replies}` }),
    });
    t.after(() => upstream.close());
    // No tools; window 3600 puts the threshold at 2160 tokens (see api-responses-compaction.test.ts).
    const config = makeConfig({
      model: { base_url: upstream.url, model: 'scripted-model', max_retries: 0, context_window: 3600 },
      toolsets: { chat: [] },
    });
    const sessions = new SqliteSessionStore(openDatabase(':memory:'));
    const chat = new FakeChat();
    const agent = new Agent({
      model: createModelClient(config.model),
      tools: createToolRegistry(config),
      config,
    });
    const gateway = new GatewayRunner({ config, agent, sessions, platforms: [chat], logger: silentLogger() });
    t.after(() => gateway.stop());
    await gateway.start();
    const facts = (turn: string, n: number) =>
      Array.from({ length: n }, (_, i) => `${turn} fact ${i} is ${i * 7 + turn.length};`).join(' ');
    const say = async (text: string, reply: string) => {
      chat.receive(text);
      await waitUntil(() => chat.visible().includes(reply), reply);
      await gateway.idle();
    };
    const contents = (req: RecordedRequest) =>
      req.body.messages.slice(1).map((m: { content: string }) => m.content);

    await say(facts('one', 130), 'ok-1');
    await say(facts('two', 90), 'ok-2');
    assert.equal(upstream.requests.filter(isSummariser).length, 0);
    await say(facts('three', 60), 'ok-3');
    assert.ok(upstream.requests.filter(isSummariser).length >= 1, 'the third message crossed the threshold');
    const summary = 'Summary of the earlier conversation:\n\nSUMMARY';
    assert.deepEqual(contents(upstream.requests.at(-1)!), [summary, 'ok-2', facts('three', 60)]);

    upstream.requests.length = 0;
    await say(facts('four', 60), 'ok-4');
    assert.equal(upstream.requests.filter(isSummariser).length, 0, 'the stored summary is reused');
    assert.deepEqual(contents(upstream.requests[0]!), [
      summary,
      'ok-2',
      facts('three', 60),
      'ok-3',
      facts('four', 60),
    ]);
    // Nothing was thrown away: the store keeps every message; only what is sent upstream is compacted.
    assert.equal(await sessions.count('telegram:1:-'), 8);
  });

  it('keys group conversations per user and private ones per chat and thread', () => {
    const base = { platform: 'telegram' as const, chatId: '-5', userId: '7' };
    assert.equal(conversationKey({ ...base, isPrivate: false }), 'telegram:-5:-:7');
    assert.equal(conversationKey({ ...base, isPrivate: false, threadId: '3' }), 'telegram:-5:3:7');
    assert.equal(conversationKey({ ...base, chatId: '7', isPrivate: true }), 'telegram:7:-');
  });
});

describe('createChatPlatforms', () => {
  it('builds Telegram when its token is set, unless enabled is false', async () => {
    const logger = silentLogger();
    assert.deepEqual(await createChatPlatforms(makeConfig(), logger), []);
    const withToken = makeConfig({ platforms: { telegram: { token: '1:x', allowed_users: [] } } });
    assert.deepEqual(
      (await createChatPlatforms(withToken, logger)).map((p) => p.name),
      ['telegram'],
    );
    const disabled = makeConfig({ platforms: { telegram: { token: '1:x', enabled: false } } });
    assert.deepEqual(await createChatPlatforms(disabled, logger), []);
    const noToken = makeConfig({ platforms: { telegram: { enabled: true } } });
    assert.deepEqual(await createChatPlatforms(noToken, logger), []);
  });

  it('builds Discord with its token and Slack only with both of its tokens', async () => {
    const logger = silentLogger();
    const all = makeConfig({
      platforms: {
        discord: { token: 'discord-token' },
        slack: { bot_token: 'xoxb-1', app_token: 'xapp-1' },
      },
    });
    assert.deepEqual(
      (await createChatPlatforms(all, logger)).map((p) => p.name),
      ['discord', 'slack'],
    );
    const slackHalf = makeConfig({ platforms: { slack: { bot_token: 'xoxb-1' } } });
    assert.deepEqual(await createChatPlatforms(slackHalf, logger), []);
  });
});

describe('resolveStreamingSettings', () => {
  it('merges platform overrides over the global section over the platform default', () => {
    const limits = { defaultEditIntervalMs: 1200 };
    const defaults = resolveStreamingSettings(makeConfig(), 'discord', limits);
    assert.equal(defaults.editIntervalMs, 1200);
    assert.equal(defaults.firstChunkChars, 30);
    assert.equal(defaults.enabled, true);
    const global = resolveStreamingSettings(
      makeConfig({ streaming: { edit_interval_ms: 2000, enabled: false } }),
      'discord',
      limits,
    );
    assert.equal(global.editIntervalMs, 2000);
    assert.equal(global.enabled, false);
    const own = resolveStreamingSettings(
      makeConfig({
        streaming: { edit_interval_ms: 2000, enabled: false },
        platforms: {
          discord: { streaming: { edit_interval_ms: 1500, enabled: true, tool_progress: false } },
        },
      }),
      'discord',
      limits,
    );
    assert.deepEqual([own.editIntervalMs, own.enabled, own.toolProgress], [1500, true, false]);
  });

  it('resolves the group edit interval: platform override, global, platform group default, private', () => {
    const limits = { defaultEditIntervalMs: 1000, defaultGroupEditIntervalMs: 3000 };
    const resolve = (
      overrides: Parameters<typeof makeConfig>[0],
      own: Pick<PlatformLimits, 'defaultEditIntervalMs' | 'defaultGroupEditIntervalMs'> = limits,
    ) => resolveStreamingSettings(makeConfig(overrides), 'telegram', own);
    const defaults = resolve({});
    assert.deepEqual([defaults.editIntervalMs, defaults.groupEditIntervalMs], [1000, 3000]);
    // No group default on the platform: groups edit as often as private chats.
    assert.equal(resolve({}, { defaultEditIntervalMs: 1200 }).groupEditIntervalMs, 1200);
    assert.equal(
      resolve({ streaming: { edit_interval_ms: 800 } }, { defaultEditIntervalMs: 1200 }).groupEditIntervalMs,
      800,
    );
    // A slower private interval is never undercut by the platform's group default.
    assert.equal(resolve({ streaming: { edit_interval_ms: 5000 } }).groupEditIntervalMs, 5000);
    assert.equal(resolve({ streaming: { edit_interval_ms: 500 } }).groupEditIntervalMs, 3000);
    const global = resolve({ streaming: { group_edit_interval_ms: 4000 } });
    assert.deepEqual([global.editIntervalMs, global.groupEditIntervalMs], [1000, 4000]);
    const own = resolve({
      streaming: { group_edit_interval_ms: 4000 },
      platforms: { telegram: { streaming: { group_edit_interval_ms: 2500 } } },
    });
    assert.deepEqual([own.editIntervalMs, own.groupEditIntervalMs], [1000, 2500]);
    // Other platforms' overrides do not leak.
    const other = resolveStreamingSettings(
      makeConfig({ platforms: { discord: { streaming: { group_edit_interval_ms: 9000 } } } }),
      'telegram',
      limits,
    );
    assert.equal(other.groupEditIntervalMs, 3000);
  });
});
