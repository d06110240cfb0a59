/**
 * The gateway's StreamConsumer rendering a long reply through DiscordPlatform and a real discord.js
 * Client against the loopback Discord fake: the reply grows by edits, continues in new messages past
 * 2000 characters, and the messages left in the channel hold exactly the answer (cursor gone).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configSchema } from '../src/config/schema.ts';
import { countDiscordLength, DiscordPlatform } from '../src/gateway/platforms/discord/index.ts';
import { resolveStreamingSettings, StreamConsumer } from '../src/gateway/streaming/index.ts';
import type { ReplyTarget } from '../src/gateway/types.ts';
import { silentLogger } from '../src/logger.ts';
import { type FakeDiscordApi, nextSnowflake, startFakeDiscordApi } from './support/fake-discord-api.ts';

let fake: FakeDiscordApi;
let platform: DiscordPlatform;

before(async () => {
  fake = await startFakeDiscordApi();
  platform = new DiscordPlatform({
    config: { token: 'test-token', allowed_users: [], streaming: {} },
    logger: silentLogger(),
    restApi: fake.restApi,
  });
  await platform.start();
});

after(async () => {
  await platform?.stop();
  await fake?.close();
});

test('a 4,500-character reply streams by edits into three messages that hold exactly the answer', async () => {
  const channelId = nextSnowflake();
  const target: ReplyTarget = {
    chatId: channelId,
    inboundMessageId: nextSnowflake(),
    userId: '1',
    isPrivate: true,
  };
  const settings = {
    ...resolveStreamingSettings(configSchema.parse({}), 'discord', platform.limits),
    editIntervalMs: 20,
    firstChunkDelayMs: 10,
    typingIntervalMs: 1000,
  };
  const consumer = new StreamConsumer({ platform, target, settings });
  const paragraph = `${'Streaming to Discord works. '.repeat(16).trim()}\n\n`;
  const answer = paragraph.repeat(10).trim();
  consumer.start();
  for (let i = 0; i < answer.length; i += 150) {
    consumer.pushText(answer.slice(i, i + 150));
    await sleep(5);
  }
  await consumer.finish();

  const posted = fake.calls.filter(
    (c) => c.method === 'POST' && c.path === `/channels/${channelId}/messages`,
  );
  const edits = fake.calls.filter(
    (c) => c.method === 'PATCH' && c.path.startsWith(`/channels/${channelId}/`),
  );
  assert.equal(posted.length, 3);
  assert.ok(edits.length >= 3, `expected progressive edits, saw ${edits.length}`);
  const finalTexts = [...fake.messages.values()]
    .filter((m) => m.channelId === channelId)
    .map((m) => m.content);
  for (const text of finalTexts) assert.ok(countDiscordLength(text) <= 2000);
  // Splits fall at paragraph boundaries; the blank line between paragraphs may sit on either side.
  assert.equal(finalTexts.map((t) => t.trim()).join('\n\n'), answer);
  assert.ok(fake.calls.some((c) => c.path === `/channels/${channelId}/typing`));
});
