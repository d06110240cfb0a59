/**
 * End to end through the gateway: the real GatewayRunner, Agent, model client and SQLite session store,
 * the real grammY client pointed at the fake Bot API, and the scripted upstream model.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { conversationKey, GatewayRunner } from '../src/gateway/index.ts';
import { TelegramPlatform } from '../src/gateway/platforms/telegram/index.ts';
import { createLogger, type Logger, silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { openDatabase, SqliteSessionStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import { FakeTelegramApi } from './support/fake-telegram-api.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const owner = 42;
const tempDirs: string[] = [];

after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

interface HarnessOptions {
  replyToMode?: 'off' | 'first' | 'all';
  nativeDrafts?: boolean;
  allowed?: number[];
  home?: string;
  interrupt?: boolean;
  shutdownGraceS?: number;
  logger?: Logger;
  /** Extra `platforms.telegram.streaming` keys (edit_interval_ms is 30 unless set here). */
  streaming?: Record<string, number>;
}

async function startHarness(t: { after: (fn: () => Promise<void>) => void }, options: HarnessOptions = {}) {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'herald-gw-'));
  if (!options.home) tempDirs.push(home);
  const upstream = await ScriptedUpstream.start();
  const api = await FakeTelegramApi.start();
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, api_key: 'test', model: 'test-model', max_retries: 0 },
      agent: { workspace: join(home, 'workspace') },
      gateway: {
        interrupt_on_new_message: options.interrupt ?? false,
        ...(options.shutdownGraceS !== undefined ? { shutdown_grace_s: options.shutdownGraceS } : {}),
      },
      platforms: {
        telegram: {
          token: api.token,
          api_root: api.apiRoot,
          allowed_users: options.allowed ?? [owner],
          reply_to_mode: options.replyToMode ?? 'first',
          native_drafts: options.nativeDrafts ?? false,
          streaming: { edit_interval_ms: 30, ...options.streaming },
        },
      },
    }),
    home,
  };
  const logger = options.logger ?? silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  const sessions = new SqliteSessionStore(db);
  const agent = new Agent({
    model: createModelClient(config.model, { logger }),
    tools: createToolRegistry(config),
    config,
    logger,
  });
  const telegram = new TelegramPlatform({
    token: api.token,
    apiRoot: api.apiRoot,
    replyToMode: config.platforms.telegram.reply_to_mode,
    nativeDrafts: config.platforms.telegram.native_drafts,
    logger,
    pollingTimeoutSeconds: 1,
  });
  const gateway = new GatewayRunner({ config, agent, sessions, platforms: [telegram], logger });
  await gateway.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await gateway.stop();
    db.close();
    await api.close();
    await upstream.close();
  };
  t.after(stop);
  /** Waits until the bot sent a message in `chatId` whose visible text satisfies `match`. */
  const waitForMessage = (chatId: number, match: (text: string) => boolean, what: string) =>
    api.waitFor(() => api.messages(chatId).some((m) => match(m.visible)), 10_000, what);
  return { api, upstream, gateway, sessions, home, stop, waitForMessage };
}

/** Polls `predicate` (for conditions no fake call signals), failing after a generous hang guard. */
async function waitUntil(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A reply of about `chars` characters in paragraphs, so it splits at paragraph boundaries. */
function longAnswer(chars: number): string {
  const paragraph = `${'The quick brown fox jumps over the lazy dog. '.repeat(20).trim()}\n\n`;
  return paragraph.repeat(Math.ceil(chars / paragraph.length)).trim();
}

describe('GatewayRunner with Telegram', () => {
  for (const [mode, expected] of [
    ['off', [false, false, false]],
    ['first', [true, false, false]],
    ['all', [true, true, true]],
  ] as const) {
    it(`reply_to_mode ${mode} threads ${mode === 'first' ? 'only the first' : mode === 'all' ? 'every' : 'no'} chunk of a three-message reply`, async (t) => {
      const { api, upstream, gateway } = await startHarness(t, { replyToMode: mode });
      const answer = longAnswer(10_000);
      upstream.enqueue({ text: answer });
      const inbound = api.sendText({ chatId: owner, userId: owner, text: 'tell me a long story' });
      await api.waitFor(() => upstream.requests.length === 1, 10_000, 'upstream request');
      await gateway.idle();
      const messages = api.messages(owner);
      assert.equal(messages.length, 3);
      for (const message of messages) assert.ok(message.visible.length <= 4096);
      assert.equal(messages.map((m) => m.visible).join(''), answer);
      assert.deepEqual(
        messages.map((m) => m.replyTo === inbound),
        expected,
      );
    });
  }

  it('streams with edits: first message grows, ending with exactly the answer', async (t) => {
    const { api, upstream, gateway } = await startHarness(t);
    const answer = 'Here is a **short** answer that streams in several pieces, with `code` too.';
    upstream.enqueue({ text: answer, chunkDelayMs: 15 });
    api.sendText({ chatId: owner, userId: owner, text: 'hi' });
    await api.waitFor(() => upstream.requests.length === 1, 10_000, 'upstream request');
    await gateway.idle();
    const [message] = api.messages(owner);
    assert.equal(message!.visible, answer.replace(/\*\*|`/g, ''));
    assert.ok(message!.edits >= 1, 'the message was edited as it grew');
    assert.ok(api.callsOf('sendChatAction').length >= 1, 'typing indicator sent');
    assert.equal(api.callsOf('sendMessageDraft').length, 0);
  });

  it('streams private replies as drafts when native_drafts is on', async (t) => {
    const { api, upstream, gateway } = await startHarness(t, { nativeDrafts: true });
    const answer = 'A drafted answer that arrives in several chunks over a little while.';
    upstream.enqueue({ text: answer, chunkDelayMs: 15 });
    api.sendText({ chatId: owner, userId: owner, text: 'hi' });
    await api.waitFor(() => upstream.requests.length === 1, 10_000, 'upstream request');
    await gateway.idle();
    assert.ok(api.callsOf('sendMessageDraft').length >= 1);
    assert.deepEqual(
      api.messages(owner).map((m) => m.visible),
      [answer],
    );
    assert.equal(api.callsOf('editMessageText').length, 0);
  });

  it('waits out a 429 on an edit and still delivers exactly the answer', async (t) => {
    const { api, upstream, gateway } = await startHarness(t);
    const answer = 'A reply long enough to be sent early and then edited a few times as it keeps growing.';
    upstream.enqueue({ text: answer, chunkDelayMs: 10 });
    api.failNext('editMessageText', {
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
    api.sendText({ chatId: owner, userId: owner, text: 'hi' });
    await api.waitFor(() => upstream.requests.length === 1, 10_000, 'upstream request');
    await gateway.idle();
    assert.deepEqual(
      api.messages(owner).map((m) => m.visible),
      [answer],
    );
    const edits = api.callsOf('editMessageText');
    assert.ok(edits.at(-1)!.at - edits[0]!.at >= 1000, 'the edit after the 429 waited retry_after');
  });

  it('sends the rest as new messages when the streamed message can no longer be edited', async (t) => {
    const { api, upstream, gateway } = await startHarness(t);
    const answer = `${'Streaming text that keeps on growing. '.repeat(12)}The end.`;
    upstream.enqueue({ text: answer, chunkDelayMs: 5 });
    api.failNext('editMessageText', {
      error_code: 400,
      description: 'Bad Request: message to edit not found',
    });
    api.sendText({ chatId: owner, userId: owner, text: 'hi' });
    await api.waitFor(() => upstream.requests.length === 1, 10_000, 'upstream request');
    await gateway.idle();
    const messages = api.messages(owner).map((m) => m.visible);
    assert.equal(messages.length, 2);
    assert.ok(messages[0]!.endsWith(' ▌'));
    assert.equal(`${messages[0]!.slice(0, -2)}${messages[1]}`.replace(/\s+/g, ' '), answer);
  });

  it('shows a tool progress line while a tool runs and removes it when the answer resumes', async (t) => {
    const { api, upstream, gateway } = await startHarness(t);
    upstream.enqueue(
      {
        text: 'Let me check.',
        toolCalls: [{ name: 'terminal', arguments: { command: 'sleep 0.3; echo hi' } }],
      },
      { text: 'The command printed hi.' },
    );
    api.sendText({ chatId: owner, userId: owner, text: 'run it' });
    await api.waitFor(() => upstream.requests.length === 2, 10_000, 'second model call');
    await gateway.idle();
    const shown = [...api.callsOf('sendMessage'), ...api.callsOf('editMessageText')].map((c) =>
      String(c.params.text),
    );
    assert.ok(
      shown.some((text) => text.includes('⚙ terminal: sleep 0.3; echo hi')),
      'progress line shown',
    );
    assert.deepEqual(
      api.messages(owner).map((m) => m.visible),
      ['Let me check.\n\nThe command printed hi.'],
    );
  });

  it('refuses a user who is not on the allow-list without running the agent', async (t) => {
    const { api, upstream, waitForMessage } = await startHarness(t);
    api.sendText({ chatId: 555, userId: 555, text: 'let me in' });
    await waitForMessage(555, (text) => text.includes('allow-list'), 'refusal');
    assert.match(api.messages(555)[0]!.visible, /user id is 555/);
    assert.equal(upstream.requests.length, 0);
  });

  it('ignores group messages that do not address the bot and answers those that do', async (t) => {
    const { api, upstream, gateway, waitForMessage } = await startHarness(t);
    upstream.enqueue({ text: 'Group answer.' });
    api.sendText({ chatId: -100, userId: owner, text: 'chatting among ourselves', chatType: 'supergroup' });
    api.sendText({ chatId: -100, userId: owner, text: '@herald_test_bot hello', chatType: 'supergroup' });
    await waitForMessage(-100, (text) => text === 'Group answer.', 'group answer');
    await gateway.idle();
    assert.equal(upstream.requests.length, 1);
    const lastUser = upstream.requests[0]!.body.messages.at(-1);
    assert.deepEqual(lastUser, { role: 'user', content: 'hello' });
  });

  it('edits a streamed group reply no more often than group_edit_interval_ms', async (t) => {
    const { api, upstream, gateway, waitForMessage } = await startHarness(t, {
      streaming: { group_edit_interval_ms: 200 },
    });
    const tokens = Array.from({ length: 80 }, (_, i) => `token${i} `);
    const answer = tokens.join('').trim();
    upstream.enqueue({ text: tokens, chunkDelayMs: 10 });
    api.sendText({ chatId: -100, userId: owner, text: '@herald_test_bot go on', chatType: 'supergroup' });
    await waitForMessage(-100, (text) => text.trim() === answer, 'group answer');
    await gateway.idle();
    const renders = api.calls.filter(
      (c) => ['sendMessage', 'editMessageText'].includes(c.method) && String(c.params.chat_id) === '-100',
    );
    // The final edit is exempt: it delivers the complete answer as soon as the agent finishes.
    const intermediate = renders.slice(0, -1);
    assert.ok(intermediate.length >= 2, `${renders.length} renders`);
    for (let i = 1; i < intermediate.length; i++) {
      const gap = intermediate[i]!.at - intermediate[i - 1]!.at;
      assert.ok(gap >= 195, `group renders ${i - 1} and ${i} only ${gap} ms apart`);
    }
  });

  it('/stop aborts the running reply', async (t) => {
    const { api, upstream, gateway, waitForMessage } = await startHarness(t);
    upstream.enqueue({ text: longAnswer(3000), chunkDelayMs: 30 });
    api.sendText({ chatId: owner, userId: owner, text: 'write a lot' });
    await waitForMessage(owner, (text) => text.length > 0, 'first streamed text');
    api.sendText({ chatId: owner, userId: owner, text: '/stop' });
    await waitForMessage(owner, (text) => text === 'Stopped.', 'stop confirmation');
    await gateway.idle();
    await api.waitFor(() => upstream.aborted === 1, 5000, 'upstream request aborted');
    const [partial] = api.messages(owner);
    assert.ok(partial!.visible.length < 3000, 'the reply stopped early');
    assert.ok(!partial!.visible.includes('▌'), 'the partial reply was finalised');
  });

  it('/new starts a fresh conversation and /status reports its size', async (t) => {
    const { api, upstream, gateway, waitForMessage } = await startHarness(t);
    upstream.enqueue({ text: 'First answer.' }, { text: 'Second answer.' });
    api.sendText({ chatId: owner, userId: owner, text: 'one' });
    await waitForMessage(owner, (text) => text === 'First answer.', 'first answer');
    await gateway.idle();
    api.sendText({ chatId: owner, userId: owner, text: '/status' });
    await waitForMessage(owner, (text) => text.startsWith('Model: test-model'), 'status');
    assert.match(api.messages(owner).at(-1)!.visible, /Toolset: chat\nConversation: 2 messages/);
    api.sendText({ chatId: owner, userId: owner, text: '/new' });
    await waitForMessage(owner, (text) => text === 'Started a new conversation.', 'new confirmation');
    api.sendText({ chatId: owner, userId: owner, text: 'two' });
    await waitForMessage(owner, (text) => text === 'Second answer.', 'second answer');
    await gateway.idle();
    const sent = upstream.requests[1]!.body.messages.filter((m: { role: string }) => m.role !== 'system');
    assert.deepEqual(sent, [{ role: 'user', content: 'two' }]);
  });

  it('queues a message sent while a reply runs and answers it afterwards with the history', async (t) => {
    const { api, upstream, gateway } = await startHarness(t);
    upstream.enqueue({ text: 'Slow first answer.', chunkDelayMs: 40 }, { text: 'Second.' });
    api.sendText({ chatId: owner, userId: owner, text: 'first' });
    await api.waitFor(() => upstream.requests.length === 1, 10_000, 'first request');
    api.sendText({ chatId: owner, userId: owner, text: 'second' });
    await api.waitFor(() => upstream.requests.length === 2, 10_000, 'second request');
    await gateway.idle();
    const sent = upstream.requests[1]!.body.messages.filter((m: { role: string }) => m.role !== 'system');
    assert.deepEqual(sent, [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'Slow first answer.' },
      { role: 'user', content: 'second' },
    ]);
  });

  it('a restart keeps a chat history (SQLite session store)', async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'herald-gw-'));
    tempDirs.push(home);
    const first = await startHarness(t, { home });
    first.upstream.enqueue({ text: 'Remembered.' });
    first.api.sendText({ chatId: owner, userId: owner, text: 'remember 42' });
    await first.waitForMessage(owner, (text) => text === 'Remembered.', 'first answer');
    await first.gateway.idle();
    await first.stop();

    const second = await startHarness(t, { home });
    second.upstream.enqueue({ text: 'You said 42.' });
    second.api.sendText({ chatId: owner, userId: owner, text: 'what did I say?' });
    await second.waitForMessage(owner, (text) => text === 'You said 42.', 'second answer');
    const sent = second.upstream.requests[0]!.body.messages.filter(
      (m: { role: string }) => m.role !== 'system',
    );
    assert.deepEqual(sent, [
      { role: 'user', content: 'remember 42' },
      { role: 'assistant', content: 'Remembered.' },
      { role: 'user', content: 'what did I say?' },
    ]);
  });

  it('on stop, lets a reply finish within shutdown_grace_s and aborts a longer one, keeping its partial', async (t) => {
    const other = 43;
    const logLines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void logLines.push(line) });
    const { api, upstream, gateway, sessions } = await startHarness(t, {
      allowed: [owner, other],
      shutdownGraceS: 2,
      logger,
    });
    const long = longAnswer(3000);
    const short = 'A short answer that is done well within the grace period.';
    upstream.enqueue({ text: long, chunkDelayMs: 20 }, { text: short, chunkDelayMs: 10 });
    api.sendText({ chatId: other, userId: other, text: 'write a lot' });
    await api.waitFor(
      () => api.messages(other).some((m) => m.visible.length > 0),
      10_000,
      'long reply shown',
    );
    api.sendText({ chatId: owner, userId: owner, text: 'quick one' });
    await api.waitFor(() => upstream.requests.length === 2, 10_000, 'second request');
    // Queued behind the long reply: never started, dropped on stop.
    api.sendText({ chatId: other, userId: other, text: 'and one more thing' });
    await api.waitForDelivery();

    const startedAt = Date.now();
    const stopping = gateway.stop();
    // Inbound during the grace period is ignored.
    api.sendText({ chatId: owner, userId: owner, text: 'too late' });
    await api.waitForDelivery();
    await stopping;

    assert.ok(Date.now() - startedAt >= 1900, 'the long reply had the grace period before the abort');
    assert.equal(upstream.requests.length, 2, 'neither the queued nor the late message ran');
    assert.deepEqual(
      api.messages(owner).map((m) => m.visible),
      [short],
    );
    const [partial, ...rest] = api.messages(other);
    assert.equal(rest.length, 0);
    const shown = partial!.visible.trimEnd();
    assert.ok(shown.length > 0 && shown.length < long.length, 'the long reply was cut short');
    assert.ok(long.startsWith(shown), 'the partial is the start of the answer, without cursor');
    const history = await sessions.load(
      conversationKey({
        platform: 'telegram',
        chatId: String(other),
        isPrivate: true,
        userId: String(other),
      }),
    );
    assert.deepEqual(history[0], { role: 'user', content: 'write a lot' });
    assert.equal(history[1]?.role, 'assistant');
    assert.equal(String(history[1]?.content).trimEnd(), shown, 'the partial is kept in the history');
    assert.equal(history.length, 2);
    await waitUntil(() => upstream.aborted === 1, 'upstream request aborted');
    const events = logLines.map(
      (line) => JSON.parse(line) as { event?: string; dropped?: number; runs?: number },
    );
    assert.equal(events.find((e) => e.event === 'gateway_queue_dropped')?.dropped, 1);
    assert.equal(events.find((e) => e.event === 'gateway_shutdown_abort')?.runs, 1);
  });

  it('shows a short error when the upstream fails', async (t) => {
    const { api, upstream, waitForMessage } = await startHarness(t);
    upstream.enqueue({
      status: 401,
      errorBody: { error: { message: 'bad key', type: 'invalid_request_error' } },
    });
    api.sendText({ chatId: owner, userId: owner, text: 'hi' });
    await waitForMessage(owner, (text) => text.startsWith('⚠'), 'error message');
    assert.equal(api.messages(owner).length, 1);
  });
});
