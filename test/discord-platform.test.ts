/**
 * DiscordPlatform driven through a real discord.js Client against the loopback Discord fake: the
 * client does the full gateway handshake (HELLO, IDENTIFY, READY, GUILD_CREATE) and receives
 * MESSAGE_CREATE dispatches; every REST call the adapter makes is asserted on the fake's record.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, type ClientOptions, Partials } from 'discord.js';
import { DiscordPlatform } from '../src/gateway/platforms/discord/index.ts';
import type { InboundMessage, ReplyTarget } from '../src/gateway/types.ts';
import { EditFailedError, FloodControlError } from '../src/gateway/types.ts';
import { silentLogger } from '../src/logger.ts';
import { type FakeDiscordApi, nextSnowflake, startFakeDiscordApi } from './support/fake-discord-api.ts';
import { Inbox } from './support/inbox.ts';

const guildId = nextSnowflake();
const channelId = nextSnowflake();
const threadId = nextSnowflake();
const dmChannelId = nextSnowflake();
const alice = { id: nextSnowflake(), username: 'alice' };

describe('DiscordPlatform', () => {
  let fake: FakeDiscordApi;
  let platform: DiscordPlatform;
  let clientOptions: ClientOptions | undefined;
  const inbox = new Inbox<InboundMessage>();

  function callsSince(index: number) {
    return fake.calls.slice(index).filter((c) => !c.path.startsWith('/gateway') && c.path !== '/users/@me');
  }

  before(async () => {
    fake = await startFakeDiscordApi({
      guilds: [{ id: guildId, channelIds: [channelId], threads: [{ id: threadId, parentId: channelId }] }],
    });
    platform = new DiscordPlatform({
      config: { token: 'test-token', allowed_users: [], streaming: {} },
      logger: silentLogger(),
      restApi: fake.restApi,
      clientFactory: (options) => {
        clientOptions = options;
        return new Client(options);
      },
    });
    platform.onMessage(inbox.push);
    await platform.start();
  });

  after(async () => {
    await platform?.stop();
    await fake?.close();
  });

  test('identifies with the guild, guild-message, message-content and DM intents', async () => {
    const identify = await fake.identified;
    assert.equal(identify.token, 'test-token');
    // Guilds 1 | GuildMessages 512 | DirectMessages 4096 | MessageContent 32768
    assert.equal(identify.intents, 1 | 512 | 4096 | 32768);
  });

  test('builds the client with the Channel partial and REST pointed at the configured API', () => {
    assert.deepEqual(clientOptions?.partials, [Partials.Channel]);
    assert.equal(clientOptions?.rest?.api, fake.restApi);
  });

  test('maps a DM to a private InboundMessage', async () => {
    const id = fake.pushMessage({ channelId: dmChannelId, author: alice, content: 'hello there' });
    const message = await inbox.next();
    assert.deepEqual(message, {
      platform: 'discord',
      chatId: dmChannelId,
      threadId: undefined,
      userId: alice.id,
      userName: 'alice',
      messageId: id,
      text: 'hello there',
      isPrivate: true,
      addressedToBot: false,
    });
  });

  test('a guild mention is addressed to the bot and the mention is stripped', async () => {
    fake.pushMessage({
      channelId,
      guildId,
      author: alice,
      content: `<@${fake.botUser.id}> what is 2+2?`,
      mentions: [fake.botUser],
    });
    const message = await inbox.next();
    assert.equal(message.text, 'what is 2+2?');
    assert.equal(message.addressedToBot, true);
    assert.equal(message.isPrivate, false);
    assert.equal(message.chatId, channelId);
    assert.equal(message.threadId, undefined);
  });

  test('a guild message that mentions nobody is not addressed to the bot', async () => {
    fake.pushMessage({ channelId, guildId, author: alice, content: 'just chatting' });
    const message = await inbox.next();
    assert.equal(message.addressedToBot, false);
  });

  test('a reply to one of the bot messages is addressed to the bot', async () => {
    fake.pushMessage({
      channelId,
      guildId,
      author: alice,
      content: 'and then?',
      replyTo: { id: nextSnowflake(), author: fake.botUser },
    });
    const message = await inbox.next();
    assert.equal(message.addressedToBot, true);
    assert.equal(message.text, 'and then?');
  });

  test('a message in a thread is keyed under its parent channel with the thread id', async () => {
    fake.pushMessage({
      channelId: threadId,
      guildId,
      author: alice,
      content: `<@${fake.botUser.id}> in a thread`,
      mentions: [fake.botUser],
    });
    const message = await inbox.next();
    assert.equal(message.chatId, channelId);
    assert.equal(message.threadId, threadId);
  });

  test('ignores messages from bots, including itself', async () => {
    fake.pushMessage({
      channelId: dmChannelId,
      author: { id: nextSnowflake(), username: 'other', bot: true },
      content: 'beep',
    });
    fake.pushMessage({ channelId: dmChannelId, author: fake.botUser, content: 'my own echo' });
    fake.pushMessage({ channelId: dmChannelId, author: alice, content: 'after the bots' });
    const message = await inbox.next();
    assert.equal(message.text, 'after the bots');
  });

  test('send, edit, delete and typing make exactly the expected REST calls', async () => {
    const target: ReplyTarget = {
      chatId: channelId,
      inboundMessageId: '42',
      userId: alice.id,
      isPrivate: false,
    };
    const start = fake.calls.length;
    await platform.sendTyping(target);
    const sent = await platform.send(target, '**Hello**');
    await platform.edit(target, sent, '**Hello** world');
    await platform.delete(target, sent);
    assert.deepEqual(callsSince(start), [
      { method: 'POST', path: `/channels/${channelId}/typing`, body: undefined },
      {
        method: 'POST',
        path: `/channels/${channelId}/messages`,
        body: { content: '**Hello**', allowed_mentions: { parse: [], replied_user: false } },
      },
      {
        method: 'PATCH',
        path: `/channels/${channelId}/messages/${sent.id}`,
        body: { content: '**Hello** world' },
      },
      { method: 'DELETE', path: `/channels/${channelId}/messages/${sent.id}`, body: undefined },
    ]);
    assert.equal(fake.messages.has(sent.id), false);
  });

  test('replyToInbound adds a message reference and replies go to the thread', async () => {
    const target: ReplyTarget = {
      chatId: channelId,
      threadId,
      inboundMessageId: '4242',
      userId: alice.id,
      isPrivate: false,
    };
    const start = fake.calls.length;
    const sent = await platform.send(target, 'threaded', { replyToInbound: true });
    assert.deepEqual(callsSince(start), [
      {
        method: 'POST',
        path: `/channels/${threadId}/messages`,
        body: {
          content: 'threaded',
          allowed_mentions: { parse: [], replied_user: false },
          message_reference: { message_id: '4242', fail_if_not_exists: false },
        },
      },
    ]);
    assert.equal(fake.messages.get(sent.id)?.content, 'threaded');
  });

  const dm: ReplyTarget = {
    chatId: dmChannelId,
    inboundMessageId: '1',
    userId: alice.id,
    isPrivate: true,
  };

  test('a 429 on edit becomes FloodControlError with the retry_after wait', async () => {
    const sent = await platform.send(dm, 'first');
    fake.failNext('PATCH', /\/messages\/\d+$/, {
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: 1.5, global: false },
      headers: { 'retry-after': '1.5' },
    });
    const error = await platform.edit(dm, sent, 'second').then(
      () => assert.fail('edit should have thrown'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof FloodControlError, String(error));
    // discord.js adds its small clock-skew offset (50 ms by default) on top of Retry-After.
    assert.ok(error.retryAfterMs >= 1500 && error.retryAfterMs <= 1600, String(error.retryAfterMs));
    await platform.edit(dm, sent, 'second');
    assert.equal(fake.messages.get(sent.id)?.content, 'second');
  });

  test('editing a deleted message becomes EditFailedError', async () => {
    const sent = await platform.send(dm, 'soon gone');
    fake.messages.delete(sent.id);
    await assert.rejects(platform.edit(dm, sent, 'too late'), EditFailedError);
  });

  test('other API errors pass through unchanged', async () => {
    const sent = await platform.send(dm, 'x');
    fake.failNext('PATCH', /\/messages\/\d+$/, {
      status: 400,
      body: { message: 'Invalid Form Body', code: 50035 },
    });
    const error = await platform.edit(dm, sent, 'y').catch((e: unknown) => e);
    assert.ok(error instanceof Error);
    assert.ok(!(error instanceof EditFailedError) && !(error instanceof FloodControlError));
  });

  test('limits count code points, as Discord does', () => {
    assert.equal(platform.limits.maxMessageLength, 2000);
    assert.equal(platform.limits.defaultEditIntervalMs, 1200);
    assert.equal(platform.limits.countLength('ab😀'), 3);
  });
});
