/**
 * The gateway's StreamConsumer rendering replies through MatrixPlatform (matrix-js-sdk) and
 * MattermostPlatform (@mattermost/client) against their loopback fakes, on a ManualClock: the first
 * message is sent once enough text arrived, edits follow no faster than the platform's default
 * interval (Matrix 2 s, Mattermost 1 s), a 429 pauses edits for the delay the server asked for, a
 * reply past the platform's limit continues in new messages, and what the room/channel finally
 * shows is exactly the answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { configSchema } from '../src/config/schema.ts';
import { countMatrixLength, MatrixPlatform } from '../src/gateway/platforms/matrix/index.ts';
import { countMattermostLength, MattermostPlatform } from '../src/gateway/platforms/mattermost/index.ts';
import { resolveStreamingSettings } from '../src/gateway/streaming/index.ts';
import type { ReplyTarget } from '../src/gateway/types.ts';
import { silentLogger } from '../src/logger.ts';
import { assertPacedRenders, driveStream } from './support/drive-stream.ts';
import { type FakeMatrixHomeserver, startFakeMatrixHomeserver } from './support/fake-matrix-homeserver.ts';
import { type FakeMattermostApi, startFakeMattermostApi } from './support/fake-mattermost-api.ts';

const defaults = configSchema.parse({});

function paragraphs(sentence: string, chars: number): string {
  const paragraph = `${sentence.repeat(12).trim()}\n\n`;
  return paragraph.repeat(Math.ceil(chars / paragraph.length)).trim();
}

describe('Matrix streaming', () => {
  let fake: FakeMatrixHomeserver;
  let platform: MatrixPlatform;
  const alice = '@alice:fake.test';

  before(async () => {
    fake = await startFakeMatrixHomeserver();
    platform = new MatrixPlatform({
      config: {
        homeserver: fake.baseUrl,
        access_token: fake.accessToken,
        allowed_users: [alice],
        auto_join: true,
        streaming: {},
      },
      logger: silentLogger(),
    });
    await platform.start();
  });

  after(async () => {
    await platform?.stop();
    await fake?.close();
  });

  test('edits every 2 s by default, backs off on 429 retry_after_ms, ends with exactly the answer', async () => {
    const room = fake.createRoom({ members: [fake.botUserId, alice] });
    const target: ReplyTarget = { chatId: room, inboundMessageId: '$in', userId: alice, isPrivate: true };
    const settings = resolveStreamingSettings(defaults, 'matrix', platform.limits);
    assert.equal(settings.editIntervalMs, 2000);
    const answer = paragraphs('Matrix replies grow by m.replace edits. ', 1500);
    // The third edit is rate limited: nothing may be sent for the next 7 s of clock time.
    const beforeEdit = {
      nth: 3,
      run: () =>
        fake.failNext('send', {
          status: 429,
          body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 7000 },
        }),
    };
    const stream = { platform, target, settings, answer, chunkChars: 40, stepMs: 250, beforeEdit };
    assertPacedRenders((await driveStream(stream)).renders, 2000, 7000);
    const messages = fake.botMessages(room);
    assert.equal(messages.length, 1);
    assert.equal(messages[0]!.content.body, answer);
    assert.match(String(messages[0]!.content.formatted_body), /^<p>Matrix replies grow/);
  });

  test('a reply past 60,000 bytes continues in new events, each within the limit', async () => {
    const room = fake.createRoom({ members: [fake.botUserId, alice] });
    const target: ReplyTarget = { chatId: room, inboundMessageId: '$in', userId: alice, isPrivate: true };
    const settings = resolveStreamingSettings(defaults, 'matrix', platform.limits);
    const answer = paragraphs('Long Matrix answers are split at paragraphs. ', 45_000);
    await driveStream({ platform, target, settings, answer, chunkChars: 3000, stepMs: 2000 });
    const bodies = fake.botMessages(room).map((m) => String(m.content.body));
    assert.equal(bodies.length, 3);
    for (const body of bodies) assert.ok(countMatrixLength(body) <= 60_000);
    assert.equal(bodies.map((b) => b.trim()).join('\n\n'), answer);
    // The edit events, the largest a reply produces, stay under the spec's 65,536-byte event limit.
    for (const event of fake.roomEvents(room)) assert.ok(Buffer.byteLength(JSON.stringify(event)) < 65_536);
  });
});

describe('Mattermost streaming', () => {
  let fake: FakeMattermostApi;
  let platform: MattermostPlatform;
  const alice = 'aliceuserid000000000000000';

  before(async () => {
    fake = await startFakeMattermostApi();
    platform = new MattermostPlatform({
      config: { url: fake.url, token: fake.token, allowed_users: [alice], streaming: {} },
      logger: silentLogger(),
    });
    await platform.start();
  });

  after(async () => {
    await platform?.stop();
    await fake?.close();
  });

  test('edits every second by default, backs off on 429 Retry-After, ends with exactly the answer', async () => {
    const target: ReplyTarget = {
      chatId: 'dm-stream',
      inboundMessageId: 'in',
      userId: alice,
      isPrivate: true,
    };
    const settings = resolveStreamingSettings(defaults, 'mattermost', platform.limits);
    assert.equal(settings.editIntervalMs, 1000);
    const answer = paragraphs('Mattermost replies grow by post patches. ', 1200);
    const beforeEdit = {
      nth: 2,
      run: () =>
        fake.failNext('patch', { status: 429, headers: { 'retry-after': '4' }, body: 'limit exceeded\n' }),
    };
    const stream = { platform, target, settings, answer, chunkChars: 30, stepMs: 200, beforeEdit };
    assertPacedRenders((await driveStream(stream)).renders, 1000, 4000);
    const posts = fake.botPosts('dm-stream');
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.message, answer);
  });

  test('a reply past 16,383 characters continues in new posts in the same thread', async () => {
    const target: ReplyTarget = {
      chatId: 'town-stream',
      threadId: 'rootpost',
      inboundMessageId: 'rootpost',
      userId: alice,
      isPrivate: false,
    };
    const settings = resolveStreamingSettings(defaults, 'mattermost', platform.limits);
    const answer = paragraphs('Long Mattermost answers split at paragraphs. ', 40_000);
    await driveStream({ platform, target, settings, answer, chunkChars: 2000, stepMs: 1000 });
    const posts = fake.botPosts('town-stream');
    assert.equal(posts.length, 3);
    for (const post of posts) {
      assert.ok(countMattermostLength(post.message) <= 16_383);
      assert.equal(post.root_id, 'rootpost');
    }
    assert.equal(posts.map((p) => p.message.trim()).join('\n\n'), answer);
  });
});
