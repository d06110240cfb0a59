/**
 * MattermostPlatform driven through the real @mattermost/client (Client4 + WebSocketClient) against
 * the loopback Mattermost fake: token check, websocket authentication, the DM/mention/thread rules
 * on `posted` events, post create/patch/delete with exact bodies, `user_typing`, and the mapping of
 * 429 (with its delay header) and refused edits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MattermostPlatform } from '../src/gateway/platforms/mattermost/index.ts';
import type { InboundMessage, ReplyTarget } from '../src/gateway/types.ts';
import { EditFailedError, FloodControlError } from '../src/gateway/types.ts';
import { silentLogger } from '../src/logger.ts';
import { type FakeMattermostApi, startFakeMattermostApi } from './support/fake-mattermost-api.ts';
import { Inbox } from './support/inbox.ts';
import { waitUntil } from './support/wait-until.ts';

const alice = 'aliceuserid000000000000000';

describe('MattermostPlatform', () => {
  let fake: FakeMattermostApi;
  let platform: MattermostPlatform;
  const inbox = new Inbox<InboundMessage>();

  before(async () => {
    fake = await startFakeMattermostApi();
    platform = new MattermostPlatform({
      config: { url: fake.url, token: fake.token, allowed_users: [alice], streaming: {} },
      logger: silentLogger(),
    });
    platform.onMessage(inbox.push);
    await platform.start();
  });

  after(async () => {
    await platform?.stop();
    await fake?.close();
  });

  test('starts by checking the token (users/me) and authenticating the websocket', () => {
    assert.equal(fake.calls[0]?.kind, 'me');
    assert.equal(fake.calls[0]?.token, fake.token);
    assert.deepEqual(fake.socketActions[0], {
      action: 'authentication_challenge',
      data: { token: fake.token },
    });
  });

  test('a direct message becomes a private InboundMessage', async () => {
    const id = fake.post({
      channelId: 'dm1',
      userId: alice,
      message: 'hello',
      channelType: 'D',
      senderName: '@alice',
    });
    assert.deepEqual(await inbox.next(), {
      platform: 'mattermost',
      chatId: 'dm1',
      userId: alice,
      userName: 'alice',
      messageId: id,
      text: 'hello',
      isPrivate: true,
      addressedToBot: false,
    });
  });

  test('a channel mention is addressed, stripped, and answered in a thread under it', async () => {
    fake.post({ channelId: 'town', userId: alice, message: 'no mention here', channelType: 'O' });
    assert.equal((await inbox.next()).addressedToBot, false);
    const id = fake.post({
      channelId: 'town',
      userId: alice,
      message: '@herald summarise this',
      channelType: 'O',
      mentions: [fake.botUserId],
    });
    const message = await inbox.next();
    assert.equal(message.addressedToBot, true);
    assert.equal(message.text, 'summarise this');
    assert.equal(message.threadId, id);
    assert.equal(message.isPrivate, false);
  });

  test('a mention inside a thread stays in that thread; !commands read as slash commands', async () => {
    fake.post({
      channelId: 'town',
      userId: alice,
      message: '@herald !new',
      rootId: 'root1',
      channelType: 'P',
    });
    const message = await inbox.next();
    assert.equal(message.threadId, 'root1');
    assert.equal(message.text, '/new');
    assert.equal(message.addressedToBot, true);
  });

  test('the bot’s own posts are not delivered', async () => {
    await platform.send({ chatId: 'dm1', inboundMessageId: 'x', userId: alice, isPrivate: true }, 'mine');
    fake.post({ channelId: 'dm1', userId: alice, message: 'marker', channelType: 'D' });
    assert.equal((await inbox.next()).text, 'marker');
  });

  test('send, edit and delete use posts, posts/{id}/patch and DELETE posts/{id}', async () => {
    const target: ReplyTarget = {
      chatId: 'town',
      threadId: 'root1',
      inboundMessageId: 'in1',
      userId: alice,
      isPrivate: false,
    };
    const sent = await platform.send(target, '**Bold** start');
    assert.deepEqual(fake.calls.findLast((c) => c.kind === 'create')?.body, {
      channel_id: 'town',
      message: '**Bold** start',
      root_id: 'root1',
    });
    await platform.edit(target, sent, '**Bold** start and more');
    assert.deepEqual(fake.calls.findLast((c) => c.kind === 'patch')?.body, {
      message: '**Bold** start and more',
    });
    assert.equal(fake.posts.get(sent.id)?.message, '**Bold** start and more');
    await platform.delete(target, sent);
    assert.equal(fake.posts.get(sent.id)?.deleted, true);
  });

  test('typing goes over the websocket as user_typing with the thread as parent', async () => {
    await platform.sendTyping({
      chatId: 'town',
      threadId: 'root1',
      inboundMessageId: 'x',
      userId: alice,
      isPrivate: false,
    });
    await waitUntil(() => fake.socketActions.some((a) => a.action === 'user_typing'), 'user_typing');
    assert.deepEqual(fake.socketActions.find((a) => a.action === 'user_typing')?.data, {
      channel_id: 'town',
      parent_id: 'root1',
    });
  });

  test('a 429 becomes FloodControlError with the Retry-After delay; a deleted post makes edits fail for good', async () => {
    const target: ReplyTarget = { chatId: 'dm1', inboundMessageId: 'x', userId: alice, isPrivate: true };
    fake.failNext('create', {
      status: 429,
      headers: { 'retry-after': '3', 'x-ratelimit-reset': '3' },
      body: 'limit exceeded\n',
    });
    await assert.rejects(platform.send(target, 'x'), (error: unknown) => {
      assert.ok(error instanceof FloodControlError);
      assert.equal(error.retryAfterMs, 3000);
      return true;
    });
    await assert.rejects(platform.edit(target, { id: 'post-that-never-was' }, 'y'), EditFailedError);
  });

  test('after a server restart the websocket reconnects to the new session and posts arrive again', async () => {
    fake.dropConnections();
    // The client waits 3–5 s before reconnecting (its own backoff).
    await fake.connected();
    fake.post({ channelId: 'dm1', userId: alice, message: 'still there?', channelType: 'D' });
    assert.equal((await inbox.next()).text, 'still there?');
  });

  test('a rejected token fails start()', async () => {
    const p = new MattermostPlatform({
      config: { url: fake.url, token: 'wrong', allowed_users: [], streaming: {} },
      logger: silentLogger(),
    });
    await assert.rejects(p.start(), /Invalid or expired session/);
  });
});
