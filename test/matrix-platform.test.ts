/**
 * MatrixPlatform driven through the real matrix-js-sdk client against the loopback homeserver fake:
 * login, sync, the mention/reply/thread rules, the HTML and relations of sends and edits, 429 and
 * refused-edit mapping, invites (joined only from allowed users) and the end-to-end-encryption
 * refusal, each asserted on the fake's recorded requests and room state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENCRYPTION_NOTICE, MatrixPlatform } from '../src/gateway/platforms/matrix/index.ts';
import type { InboundMessage, ReplyTarget } from '../src/gateway/types.ts';
import { EditFailedError, FloodControlError } from '../src/gateway/types.ts';
import { silentLogger } from '../src/logger.ts';
import { type FakeMatrixHomeserver, startFakeMatrixHomeserver } from './support/fake-matrix-homeserver.ts';
import { Inbox } from './support/inbox.ts';
import { waitUntil } from './support/wait-until.ts';

const alice = '@alice:fake.test';
const mallory = '@mallory:fake.test';

describe('MatrixPlatform', () => {
  let fake: FakeMatrixHomeserver;
  let platform: MatrixPlatform;
  let dm: string;
  let room: string;
  const inbox = new Inbox<InboundMessage>();
  const started: MatrixPlatform[] = [];

  function newPlatform(overrides: Record<string, unknown> = {}): MatrixPlatform {
    const p = new MatrixPlatform({
      config: {
        homeserver: fake.baseUrl,
        access_token: fake.accessToken,
        allowed_users: [alice],
        auto_join: true,
        streaming: {},
        ...overrides,
      },
      logger: silentLogger(),
    });
    started.push(p);
    return p;
  }

  before(async () => {
    fake = await startFakeMatrixHomeserver();
    dm = fake.createRoom({ members: [fake.botUserId, alice] });
    room = fake.createRoom({ members: [fake.botUserId, alice, mallory], name: 'Team' });
    // History from before the start must not be answered.
    fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: 'an old message' });
    platform = newPlatform();
    platform.onMessage(inbox.push);
    await platform.start();
  });

  after(async () => {
    for (const p of started) await p.stop();
    await fake?.close();
  });

  test('starts with the access token: whoami, then syncs with it', () => {
    const whoami = fake.calls.find((c) => c.kind === 'whoami');
    const sync = fake.calls.find((c) => c.kind === 'sync');
    assert.equal(whoami?.token, fake.accessToken);
    assert.equal(sync?.token, fake.accessToken);
  });

  test('a direct message becomes a private InboundMessage; older history is not delivered', async () => {
    const id = fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: 'hello there' });
    const message = await inbox.next();
    assert.deepEqual(message, {
      platform: 'matrix',
      chatId: dm,
      userId: alice,
      messageId: id,
      text: 'hello there',
      isPrivate: true,
      addressedToBot: false,
    });
  });

  test('in a room only mentions and replies to the bot address it; the mention is stripped', async () => {
    fake.sendAsUser(room, alice, { msgtype: 'm.text', body: 'just chatting' });
    assert.equal((await inbox.next()).addressedToBot, false);

    fake.sendAsUser(room, alice, {
      msgtype: 'm.text',
      body: 'Herald: what is 2+2?',
      format: 'org.matrix.custom.html',
      formatted_body: `<a href="https://matrix.to/#/${fake.botUserId}">Herald</a>: what is 2+2?`,
      'm.mentions': { user_ids: [fake.botUserId] },
    });
    const mention = await inbox.next();
    assert.equal(mention.addressedToBot, true);
    assert.equal(mention.isPrivate, false);
    assert.equal(mention.text, 'what is 2+2?');

    const target: ReplyTarget = {
      chatId: room,
      inboundMessageId: mention.messageId,
      userId: alice,
      isPrivate: false,
    };
    const sent = await platform.send(target, 'Four.');
    await fake.synced();
    fake.sendAsUser(room, alice, {
      msgtype: 'm.text',
      body: `> <${fake.botUserId}> Four.\n\nand times three?`,
      'm.relates_to': { 'm.in_reply_to': { event_id: sent.id } },
    });
    const reply = await inbox.next();
    assert.equal(reply.addressedToBot, true);
    assert.equal(reply.text, 'and times three?');
  });

  test('a message in a thread carries the thread root; !commands read as slash commands', async () => {
    const root = fake.sendAsUser(room, alice, { msgtype: 'm.text', body: 'thread root' });
    await inbox.next();
    fake.sendAsUser(room, alice, {
      msgtype: 'm.text',
      body: `${fake.botUserId} !status`,
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: root,
        is_falling_back: true,
        'm.in_reply_to': { event_id: root },
      },
    });
    const message = await inbox.next();
    assert.equal(message.threadId, root);
    assert.equal(message.text, '/status');
    assert.equal(message.addressedToBot, true);
  });

  test('ignores notices, edits and the bot’s own messages', async () => {
    fake.sendAsUser(dm, alice, { msgtype: 'm.notice', body: 'beep' });
    fake.sendAsUser(dm, alice, {
      msgtype: 'm.text',
      body: '* edited',
      'm.new_content': { msgtype: 'm.text', body: 'edited' },
      'm.relates_to': { rel_type: 'm.replace', event_id: '$x' },
    });
    await platform.send({ chatId: dm, inboundMessageId: '$y', userId: alice, isPrivate: true }, 'mine');
    fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: 'marker' });
    assert.equal((await inbox.next()).text, 'marker');
  });

  test('send renders Markdown as org.matrix.custom.html; a thread reply relates to the thread', async () => {
    const target: ReplyTarget = {
      chatId: room,
      threadId: '$root',
      inboundMessageId: '$inbound',
      userId: alice,
      isPrivate: false,
    };
    const sent = await platform.send(target, '**Bold** and <b>raw</b>\n\n```ts\nx < 1\n```', {
      replyToInbound: true,
    });
    const call = fake.calls.findLast((c) => c.kind === 'send')!;
    assert.equal(call.roomId, room);
    assert.deepEqual(call.body, {
      msgtype: 'm.text',
      body: '**Bold** and <b>raw</b>\n\n```ts\nx < 1\n```',
      format: 'org.matrix.custom.html',
      formatted_body:
        '<p><strong>Bold</strong> and &lt;b&gt;raw&lt;/b&gt;</p>\n<pre><code class="language-ts">x &lt; 1\n</code></pre>',
      'm.mentions': {},
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: '$root',
        is_falling_back: false,
        'm.in_reply_to': { event_id: '$inbound' },
      },
    });
    await platform.edit(target, sent, 'Now *plain*');
    const edit = fake.calls.findLast((c) => c.kind === 'send')!;
    assert.deepEqual(edit.body['m.relates_to'], { rel_type: 'm.replace', event_id: sent.id });
    assert.equal(edit.body.body, '* Now *plain*');
    assert.deepEqual(edit.body['m.new_content'], {
      msgtype: 'm.text',
      body: 'Now *plain*',
      format: 'org.matrix.custom.html',
      formatted_body: '<p>Now <em>plain</em></p>',
      'm.mentions': {},
    });
    assert.equal(fake.visibleText(room, sent.id), 'Now *plain*');
    await platform.delete(target, sent);
    assert.equal(fake.visibleText(room, sent.id), undefined);
  });

  test('a room reply outside threads quotes the inbound message and mentions its sender', async () => {
    await platform.send({ chatId: room, inboundMessageId: '$in', userId: alice, isPrivate: false }, 'hi', {
      replyToInbound: true,
    });
    const call = fake.calls.findLast((c) => c.kind === 'send')!;
    assert.deepEqual(call.body['m.relates_to'], { 'm.in_reply_to': { event_id: '$in' } });
    assert.deepEqual(call.body['m.mentions'], { user_ids: [alice] });
  });

  test('429 M_LIMIT_EXCEEDED becomes FloodControlError with retry_after_ms; a refused edit EditFailedError', async () => {
    const target: ReplyTarget = { chatId: dm, inboundMessageId: '$a', userId: alice, isPrivate: true };
    fake.failNext('send', {
      status: 429,
      body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 2500 },
    });
    await assert.rejects(platform.send(target, 'x'), (error: unknown) => {
      assert.ok(error instanceof FloodControlError);
      assert.equal(error.retryAfterMs, 2500);
      return true;
    });
    fake.failNext('send', { status: 403, body: { errcode: 'M_FORBIDDEN', error: 'not yours' } });
    await assert.rejects(platform.edit(target, { id: '$gone' }, 'y'), EditFailedError);
  });

  test('typing notifications go to the room with a timeout', async () => {
    await platform.sendTyping({ chatId: dm, inboundMessageId: '$a', userId: alice, isPrivate: true });
    const call = fake.calls.findLast((c) => c.kind === 'typing')!;
    assert.equal(call.roomId, dm);
    assert.deepEqual(call.body, { typing: true, timeout: 6000 });
  });

  test('joins invites from allowed users and declines others', async () => {
    const invited = fake.invite(alice);
    const stranger = fake.invite(mallory);
    await waitUntil(() => fake.calls.some((c) => c.kind === 'join'), 'join');
    await waitUntil(() => fake.calls.some((c) => c.kind === 'leave' && c.roomId === stranger), 'decline');
    assert.ok(fake.calls.some((c) => c.kind === 'join' && c.path.includes(encodeURIComponent(invited))));
    assert.ok(!fake.calls.some((c) => c.kind === 'join' && c.path.includes(encodeURIComponent(stranger))));
    // The joined room works like any other.
    fake.sendAsUser(invited, alice, { msgtype: 'm.text', body: 'thanks for joining' });
    const message = await inbox.next();
    assert.equal(message.chatId, invited);
  });

  test('an encrypted room gets one notice that E2EE is unsupported and is never answered', async () => {
    const encrypted = fake.createRoom({ members: [fake.botUserId, alice], encrypted: true });
    await fake.synced();
    fake.sendAsUser(
      encrypted,
      alice,
      { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgA…' },
      'm.room.encrypted',
    );
    fake.sendAsUser(
      encrypted,
      alice,
      { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgB…' },
      'm.room.encrypted',
    );
    await waitUntil(() => fake.botMessages(encrypted).length > 0, 'notice');
    fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: 'after encrypted' });
    assert.equal((await inbox.next()).text, 'after encrypted');
    const notices = fake.botMessages(encrypted);
    assert.equal(notices.length, 1);
    assert.deepEqual(notices[0]!.content, { msgtype: 'm.notice', body: ENCRYPTION_NOTICE });
  });

  test('joining an encrypted room on invite sends the E2EE notice there', async () => {
    const invited = fake.invite(alice, { encrypted: true });
    await waitUntil(() => fake.botMessages(invited).length > 0, 'notice after join');
    assert.deepEqual(
      fake.botMessages(invited).map((m) => m.content.body),
      [ENCRYPTION_NOTICE],
    );
  });

  test('logs in with user id and password when no token is set', async () => {
    const p = newPlatform({ access_token: undefined, user_id: fake.botUserId, password: fake.password });
    await p.start();
    const login = fake.calls.findLast((c) => c.kind === 'login')!;
    assert.deepEqual(login.body.identifier, { type: 'm.id.user', user: fake.botUserId });
    await p.stop();
  });

  test('a rejected token fails start() with the server error', async () => {
    const p = newPlatform({ access_token: 'wrong' });
    await assert.rejects(p.start(), /Invalid access token/);
  });
});
