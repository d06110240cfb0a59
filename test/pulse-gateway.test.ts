/**
 * The Pulse watching a GatewayRunner as `herald serve` wires it: each platform's state (retrying with
 * its last error, then connected) in the status report, messages sent and edited and flood-control
 * refusals counted per platform, and chat runs in the run metrics and recent errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentEvent, AgentInput, AgentRunner } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import {
  type ChatPlatform,
  FloodControlError,
  GatewayRunner,
  type InboundMessage,
  type SentMessage,
} from '../src/gateway/index.ts';
import { silentLogger } from '../src/logger.ts';
import { ModelError, zeroUsage } from '../src/model/index.ts';
import { Pulse } from '../src/observability/index.ts';
import type { SessionStore } from '../src/store/index.ts';

const TOKEN = '123456:secret-bot-token';

class FakeTelegram implements ChatPlatform {
  readonly name = 'telegram' as const;
  readonly limits = {
    maxMessageLength: 4096,
    countLength: (t: string) => t.length,
    defaultEditIntervalMs: 1,
  };
  failStarts = 1;
  floodOnce = true;
  handler: ((message: InboundMessage) => void) | undefined;
  #id = 0;
  onMessage(handler: (message: InboundMessage) => void) {
    this.handler = handler;
  }
  async start() {
    if (this.failStarts-- > 0)
      throw new Error(`request to https://api.telegram.org/bot${TOKEN}/getMe failed`);
  }
  async stop() {}
  async send(): Promise<SentMessage> {
    if (this.floodOnce) {
      this.floodOnce = false;
      throw new FloodControlError(1);
    }
    return { id: String(++this.#id) };
  }
  async edit() {}
  async delete() {}
  async sendTyping() {}
}

/** Streams "hello" in two deltas, or fails like an unreachable upstream when the text says so. */
const agent: AgentRunner = {
  async *run(input: AgentInput): AsyncIterable<AgentEvent> {
    if (String(input.messages.at(-1)?.content) === 'fail') {
      const error = new ModelError('upstream_timeout', 'timed out');
      yield { type: 'error', error, text: '', usage: zeroUsage(), messages: [] };
      return;
    }
    yield { type: 'text-delta', text: 'hel' };
    await new Promise((resolve) => setTimeout(resolve, 20));
    yield { type: 'text-delta', text: 'lo' };
    const usage = { promptTokens: 5, completionTokens: 2, totalTokens: 7, estimated: false };
    const messages = [{ role: 'assistant' as const, content: 'hello' }];
    yield { type: 'done', text: 'hello', finishReason: 'stop', usage, messages };
  },
};

const sessions: SessionStore = {
  load: async () => [],
  append: async () => {},
  compact: async () => {},
  reset: async () => {},
  count: async () => 0,
};

async function until(predicate: () => boolean, what: string) {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(predicate(), `timed out waiting for ${what}`);
}

describe('Pulse watching the gateway', () => {
  it('reports platform states, counts platform messages and chat runs', async (t) => {
    const config: HeraldConfig = {
      ...configSchema.parse({ platforms: { telegram: { token: TOKEN, allowed_users: [7] } } }),
      home: '/tmp/herald-pulse-unused',
    };
    const pulse = new Pulse({ config, version: 't', storeOpen: () => true });
    const telegram = new FakeTelegram();
    const observed = pulse.observeChatPlatform(telegram);
    const gateway = new GatewayRunner({
      config,
      agent: pulse.observeAgent(agent),
      sessions,
      platforms: [observed],
      logger: silentLogger(),
      startRetry: { initialDelayMs: 200, maxDelayMs: 200 },
    });
    pulse.watchPlatforms(() => gateway.platformStates());
    pulse.watchQueue('chat', () => gateway.queuedMessages);
    t.after(() => gateway.stop());

    await gateway.start();
    const retrying = pulse.status().platforms;
    assert.deepEqual(retrying, [
      {
        name: 'telegram',
        state: 'retrying',
        failures: 1,
        last_error: 'request to https://api.telegram.org/bot[redacted]/getMe failed',
        leader: null,
      },
    ]);
    await until(() => pulse.status().platforms[0]?.state === 'connected', 'the retry to connect');

    const message = (text: string): InboundMessage => ({
      platform: 'telegram',
      chatId: '1',
      userId: '7',
      messageId: String(Math.random()),
      text,
      isPrivate: true,
      addressedToBot: true,
    });
    telegram.handler!(message('hi'));
    await gateway.idle();
    telegram.handler!(message('fail'));
    await gateway.idle();
    // Whether the consumer edited depends on its timing; one edit and one delete made here do not.
    const target = { chatId: '1', inboundMessageId: '1', userId: '7', isPrivate: true };
    await observed.edit(target, { id: '1' }, 'edited');
    await observed.delete(target, { id: '1' });

    const metrics = await pulse.metrics.render();
    assert.match(metrics, /^herald_platform_rate_limited_total\{platform="telegram"\} 1$/m);
    assert.match(metrics, /^herald_platform_messages_total\{platform="telegram",action="send"\} [1-9]/m);
    assert.match(metrics, /^herald_platform_messages_total\{platform="telegram",action="edit"\} [1-9]/m);
    assert.match(metrics, /^herald_platform_messages_total\{platform="telegram",action="delete"\} 1$/m);
    assert.match(metrics, /^herald_run_first_token_seconds_count\{platform="telegram"\} 1$/m);
    assert.match(metrics, /^herald_run_duration_seconds_count\{platform="telegram",outcome="error"\} 1$/m);
    assert.match(metrics, /^herald_runs_queued\{platform="chat"\} 0$/m);

    const status = pulse.status();
    assert.deepEqual(status.runs, { in_flight: { telegram: 0 }, queued: { chat: 0 } });
    assert.equal(status.today.runs, 2);
    assert.equal(status.today.completion_tokens, 2);
    assert.deepEqual(
      status.recent_errors.map(({ code, platform }) => ({ code, platform })),
      [{ code: 'upstream_timeout', platform: 'telegram' }],
    );
  });
});
