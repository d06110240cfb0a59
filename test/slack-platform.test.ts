/**
 * SlackPlatform driven through a real Bolt app in Socket Mode against the loopback Slack fake:
 * events arrive as `events_api` envelopes over the fake's WebSocket, and every Web API call the
 * adapter makes (sends, edits, native streams) is asserted on the fake's record with exact params.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SlackPlatform } from '../src/gateway/platforms/slack/index.ts';
import type { InboundMessage, ReplyTarget } from '../src/gateway/types.ts';
import { EditFailedError, FloodControlError } from '../src/gateway/types.ts';
import { silentLogger } from '../src/logger.ts';
import { type FakeSlackApi, startFakeSlackApi } from './support/fake-slack-api.ts';
import { Inbox } from './support/inbox.ts';

const config = {
  bot_token: 'xoxb-test',
  app_token: 'xapp-test',
  allowed_users: [],
  native_streaming: true,
  streaming: {},
};

describe('SlackPlatform', () => {
  let fake: FakeSlackApi;
  let platform: SlackPlatform;
  const inbox = new Inbox<InboundMessage>();
  const started: SlackPlatform[] = [];

  async function startPlatform(overrides: Partial<typeof config> = {}): Promise<SlackPlatform> {
    const p = new SlackPlatform({
      config: { ...config, ...overrides },
      logger: silentLogger(),
      slackApiUrl: fake.slackApiUrl,
    });
    started.push(p);
    await p.start();
    return p;
  }

  /** Web API calls after `index`, without the start-up handshake. */
  function callsSince(index: number) {
    return fake.calls
      .slice(index)
      .filter((c) => c.method.startsWith('chat.'))
      .map(({ method, params }) => ({ method, params }));
  }

  before(async () => {
    fake = await startFakeSlackApi();
    platform = new SlackPlatform({ config, logger: silentLogger(), slackApiUrl: fake.slackApiUrl });
    started.push(platform);
    platform.onMessage(inbox.push);
    await platform.start();
  });

  after(async () => {
    for (const p of started) await p.stop();
    await fake?.close();
  });

  test('starts with the bot token for the Web API and the app token for Socket Mode', () => {
    const auth = fake.calls.find((c) => c.method === 'auth.test');
    const open = fake.calls.find((c) => c.method === 'apps.connections.open');
    assert.equal(auth?.token, 'xoxb-test');
    assert.equal(open?.token, 'xapp-test');
  });

  test('a DM becomes a private InboundMessage and the envelope is acked', async () => {
    const ack = await fake.pushEvent({
      type: 'message',
      channel: 'D0001',
      channel_type: 'im',
      user: 'U0ALICE',
      text: 'hi &lt;there&gt; &amp; welcome',
      ts: '1764000001.000100',
    });
    assert.ok(ack.envelope_id);
    const message = await inbox.next();
    assert.deepEqual(message, {
      platform: 'slack',
      chatId: 'D0001',
      threadId: undefined,
      userId: 'U0ALICE',
      messageId: '1764000001.000100',
      text: 'hi <there> & welcome',
      isPrivate: true,
      addressedToBot: false,
    });
  });

  test('an app_mention is answered in a new thread under the mention, mention stripped', async () => {
    await fake.pushEvent({
      type: 'app_mention',
      channel: 'C0001',
      user: 'U0ALICE',
      text: `<@${fake.botUserId}> summarise this`,
      ts: '1764000002.000100',
    });
    const message = await inbox.next();
    assert.equal(message.text, 'summarise this');
    assert.equal(message.chatId, 'C0001');
    assert.equal(message.threadId, '1764000002.000100');
    assert.equal(message.isPrivate, false);
    assert.equal(message.addressedToBot, true);
  });

  test('a mention inside a thread stays in that thread', async () => {
    await fake.pushEvent({
      type: 'app_mention',
      channel: 'C0001',
      user: 'U0ALICE',
      text: `<@${fake.botUserId}> and this?`,
      ts: '1764000003.000200',
      thread_ts: '1764000002.000100',
    });
    const message = await inbox.next();
    assert.equal(message.threadId, '1764000002.000100');
    assert.equal(message.messageId, '1764000003.000200');
  });

  test('ignores bot messages, edits and plain channel messages', async () => {
    await fake.pushEvent({
      type: 'message',
      channel: 'D0001',
      channel_type: 'im',
      user: 'U0BOT',
      bot_id: 'B9',
      text: 'beep',
      ts: '1.1',
    });
    await fake.pushEvent({
      type: 'message',
      subtype: 'message_changed',
      channel: 'D0001',
      channel_type: 'im',
      user: 'U0ALICE',
      text: 'x',
      ts: '1.2',
    });
    await fake.pushEvent({
      type: 'message',
      channel: 'C0001',
      channel_type: 'channel',
      user: 'U0ALICE',
      text: 'chatter',
      ts: '1.3',
    });
    await fake.pushEvent({
      type: 'message',
      channel: 'D0001',
      channel_type: 'im',
      user: 'U0ALICE',
      text: 'real one',
      ts: '1.4',
    });
    const message = await inbox.next();
    assert.equal(message.text, 'real one');
  });

  const dm: ReplyTarget = {
    chatId: 'D0001',
    inboundMessageId: '1764000001.000100',
    userId: 'U0ALICE',
    isPrivate: true,
  };
  const thread: ReplyTarget = {
    chatId: 'C0001',
    threadId: '1764000002.000100',
    inboundMessageId: '1764000002.000100',
    userId: 'U0ALICE',
    isPrivate: false,
  };

  /** The chat.startStream call a native stream to `thread` makes with its first text. */
  function startStreamInThread(markdownText: string) {
    return {
      method: 'chat.startStream',
      params: {
        channel: 'C0001',
        thread_ts: '1764000002.000100',
        recipient_user_id: 'U0ALICE',
        recipient_team_id: fake.teamId,
        markdown_text: markdownText,
      },
    };
  }

  test('send, edit and delete make the exact Web API calls, in mrkdwn', async () => {
    const start = fake.calls.length;
    await platform.sendTyping(dm);
    const sent = await platform.send(dm, '**Hi** [docs](https://x.test/?a=1&b=2)');
    await platform.edit(dm, sent, '**Hi** there');
    await platform.delete(dm, sent);
    const threaded = await platform.send(thread, 'in thread', { replyToInbound: true });
    assert.deepEqual(callsSince(start), [
      {
        method: 'chat.postMessage',
        params: { channel: 'D0001', text: '*Hi* <https://x.test/?a=1&amp;b=2|docs>' },
      },
      { method: 'chat.update', params: { channel: 'D0001', ts: sent.id, text: '*Hi* there' } },
      { method: 'chat.delete', params: { channel: 'D0001', ts: sent.id } },
      {
        method: 'chat.postMessage',
        params: { channel: 'C0001', thread_ts: '1764000002.000100', text: 'in thread' },
      },
    ]);
    assert.equal(fake.messages.get(threaded.id)?.thread_ts, '1764000002.000100');
  });

  test('a 429 on chat.update becomes FloodControlError with Retry-After', async () => {
    const sent = await platform.send(dm, 'one');
    fake.failNext('chat.update', {
      status: 429,
      headers: { 'retry-after': '2' },
      body: { ok: false, error: 'ratelimited' },
    });
    const error = await platform.edit(dm, sent, 'two').catch((e: unknown) => e);
    assert.ok(error instanceof FloodControlError, String(error));
    assert.equal(error.retryAfterMs, 2000);
  });

  test('message_not_found and cant_update_message become EditFailedError', async () => {
    const sent = await platform.send(dm, 'one');
    fake.messages.delete(sent.id);
    await assert.rejects(platform.edit(dm, sent, 'two'), EditFailedError);
    const other = await platform.send(dm, 'three');
    fake.failNext('chat.update', { body: { ok: false, error: 'cant_update_message' } });
    await assert.rejects(platform.edit(dm, other, 'four'), EditFailedError);
  });

  test('a native stream starts, appends only the new suffix and stops with the rest', async () => {
    const stream = platform.openNativeStream(thread);
    assert.ok(stream);
    const start = fake.calls.length;
    await stream.update('Hello');
    await stream.update('Hello, wor');
    await stream.update('Hello, wor');
    await stream.update('Hello, world. **Bold**');
    await stream.finish('Hello, world. **Bold** end.');
    const calls = callsSince(start);
    const ts = calls[1]?.params.ts;
    assert.deepEqual(calls, [
      startStreamInThread('Hello'),
      { method: 'chat.appendStream', params: { channel: 'C0001', ts, markdown_text: ', wor' } },
      { method: 'chat.appendStream', params: { channel: 'C0001', ts, markdown_text: 'ld. **Bold**' } },
      { method: 'chat.stopStream', params: { channel: 'C0001', ts, markdown_text: ' end.' } },
    ]);
    assert.deepEqual(fake.messages.get(String(ts)), {
      channel: 'C0001',
      text: 'Hello, world. **Bold** end.',
      thread_ts: '1764000002.000100',
      streaming: false,
    });
  });

  test('a DM stream replies in a thread under the message being answered', async () => {
    const stream = platform.openNativeStream(dm);
    assert.ok(stream);
    const start = fake.calls.length;
    await stream.update('Hi');
    await stream.finish('Hi');
    const calls = callsSince(start);
    assert.equal(calls[0]?.params.thread_ts, dm.inboundMessageId);
    assert.deepEqual(calls[1], {
      method: 'chat.stopStream',
      params: { channel: 'D0001', ts: calls[1]?.params.ts },
    });
  });

  test('flood control on startStream is surfaced, and the next update starts the stream', async () => {
    const stream = platform.openNativeStream(thread);
    assert.ok(stream);
    fake.failNext('chat.startStream', {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { ok: false, error: 'ratelimited' },
    });
    const error = await stream.update('First words').catch((e: unknown) => e);
    assert.ok(error instanceof FloodControlError);
    assert.equal(error.retryAfterMs, 1000);
    const start = fake.calls.length;
    await stream.update('First words and more');
    await stream.finish('First words and more');
    assert.deepEqual(
      callsSince(start).map((c) => [c.method, c.params.markdown_text]),
      [
        ['chat.startStream', 'First words and more'],
        ['chat.stopStream', undefined],
      ],
    );
  });

  test('a rewritten reply is fixed up with chat.update after the stream stops', async () => {
    const stream = platform.openNativeStream(thread);
    assert.ok(stream);
    const start = fake.calls.length;
    await stream.update('Here are the files');
    await stream.finish('Here are the **files**');
    const calls = callsSince(start);
    const ts = calls[1]?.params.ts;
    assert.deepEqual(
      calls.map((c) => c.method),
      ['chat.startStream', 'chat.stopStream', 'chat.update'],
    );
    assert.deepEqual(calls[2]?.params, { channel: 'C0001', ts, text: 'Here are the *files*' });
  });

  test('when startStream is refused the reply goes edit-based and later replies get no native stream', async () => {
    const other = await startPlatform();
    const stream = other.openNativeStream(thread);
    assert.ok(stream);
    fake.failNext('chat.startStream', { body: { ok: false, error: 'unknown_method' } });
    const start = fake.calls.length;
    await stream.update('Partial');
    await stream.update('Partial answer');
    await stream.finish('Partial answer, done.');
    const calls = callsSince(start);
    const ts = calls[2]?.params.ts;
    assert.deepEqual(calls, [
      startStreamInThread('Partial'),
      {
        method: 'chat.postMessage',
        params: { channel: 'C0001', thread_ts: '1764000002.000100', text: 'Partial' },
      },
      { method: 'chat.update', params: { channel: 'C0001', ts, text: 'Partial answer' } },
      { method: 'chat.update', params: { channel: 'C0001', ts, text: 'Partial answer, done.' } },
    ]);
    assert.equal(other.openNativeStream(thread), undefined);
  });

  test('native_streaming: false offers no native stream', async () => {
    const other = await startPlatform({ native_streaming: false });
    assert.equal(other.openNativeStream(thread), undefined);
  });

  test('limits: 40,000 counted on the mrkdwn Slack receives', () => {
    assert.equal(platform.limits.maxMessageLength, 40_000);
    assert.equal(platform.limits.defaultEditIntervalMs, 1000);
    assert.equal(platform.limits.countLength('a & b'), 'a &amp; b'.length);
  });
});
