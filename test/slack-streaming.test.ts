/**
 * The gateway's StreamConsumer rendering a reply through SlackPlatform (Bolt, Socket Mode) against
 * the loopback Slack fake: with native streaming the reply is one chat.startStream, appends of new
 * text only (the consumer's cursor and tool-progress lines never reach the stream) and a
 * chat.stopStream, and the streamed message ends as exactly the answer; with
 * native streaming off the same reply arrives by chat.postMessage + chat.update in mrkdwn.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configSchema } from '../src/config/schema.ts';
import { SlackPlatform } from '../src/gateway/platforms/slack/index.ts';
import { resolveStreamingSettings, StreamConsumer } from '../src/gateway/streaming/index.ts';
import type { ReplyTarget } from '../src/gateway/types.ts';
import { silentLogger } from '../src/logger.ts';
import { type FakeSlackApi, startFakeSlackApi } from './support/fake-slack-api.ts';

let fake: FakeSlackApi;
const platforms: SlackPlatform[] = [];

before(async () => {
  fake = await startFakeSlackApi();
});

after(async () => {
  for (const p of platforms) await p.stop();
  await fake?.close();
});

async function startPlatform(nativeStreaming: boolean): Promise<SlackPlatform> {
  const platform = new SlackPlatform({
    config: {
      bot_token: 'xoxb-test',
      app_token: 'xapp-test',
      allowed_users: [],
      native_streaming: nativeStreaming,
      streaming: {},
    },
    logger: silentLogger(),
    slackApiUrl: fake.slackApiUrl,
  });
  platforms.push(platform);
  await platform.start();
  return platform;
}

async function streamAnswer(platform: SlackPlatform, target: ReplyTarget, answer: string): Promise<void> {
  const settings = {
    ...resolveStreamingSettings(configSchema.parse({}), 'slack', platform.limits),
    editIntervalMs: 20,
    firstChunkDelayMs: 10,
  };
  const consumer = new StreamConsumer({ platform, target, settings });
  consumer.start();
  consumer.toolStarted('terminal: ls -la');
  await sleep(30);
  for (let i = 0; i < answer.length; i += 40) {
    consumer.pushText(answer.slice(i, i + 40));
    await sleep(5);
    if (i === 40) {
      // A second tool mid-answer: its progress line must not reach an append-only stream either.
      consumer.toolStarted('files: read notes.md');
      await sleep(30);
    }
  }
  await consumer.finish();
}

const answer =
  'Here is **the** answer, with a [link](https://example.test/?a=1&b=2).\n\n```ts\nconst x = 1 < 2;\n```\nDone.';

test('native streaming: start, append-only suffixes, stop; the message ends as the exact answer', async () => {
  const platform = await startPlatform(true);
  const target: ReplyTarget = {
    chatId: 'C0100',
    threadId: '1764000100.000100',
    inboundMessageId: '1764000100.000100',
    userId: 'U0ALICE',
    isPrivate: false,
  };
  const start = fake.calls.length;
  await streamAnswer(platform, target, answer);
  const calls = fake.calls.slice(start).filter((c) => c.params.channel === 'C0100');
  const methods = calls.map((c) => c.method);
  assert.equal(methods[0], 'chat.startStream');
  assert.equal(methods.at(-1), 'chat.stopStream');
  assert.ok(
    methods.slice(1, -1).every((m) => m === 'chat.appendStream'),
    methods.join(),
  );
  const streamed = calls.map((c) => String(c.params.markdown_text ?? ''));
  assert.ok(
    streamed.every((text) => !text.includes('▌') && !text.includes('⚙')),
    streamed.join('|'),
  );
  assert.equal(streamed.join(''), answer);
  assert.equal(fake.messages.get(String(calls[1]?.params.ts ?? calls.at(-1)?.params.ts))?.text, answer);
});

test('edit-based streaming: postMessage then chat.update, final text in mrkdwn', async () => {
  const platform = await startPlatform(false);
  const target: ReplyTarget = {
    chatId: 'D0200',
    inboundMessageId: '1764000200.000100',
    userId: 'U0ALICE',
    isPrivate: true,
  };
  const start = fake.calls.length;
  await streamAnswer(platform, target, answer);
  const calls = fake.calls.slice(start).filter((c) => c.params.channel === 'D0200');
  assert.equal(calls.filter((c) => c.method === 'chat.postMessage').length, 1);
  assert.ok(calls.some((c) => c.method === 'chat.update'));
  const [message] = [...fake.messages.values()].filter((m) => m.channel === 'D0200');
  assert.equal(
    message?.text,
    'Here is *the* answer, with a <https://example.test/?a=1&amp;b=2|link>.\n\n```\nconst x = 1 &lt; 2;\n```\nDone.',
  );
});
