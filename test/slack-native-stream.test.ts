/**
 * Size limits of SlackPlatform's native stream against the loopback Slack fake: `markdown_text` is
 * sent in pieces of at most 12,000 characters, and a reply longer than one message (40,000) keeps
 * the first 40,000 in the streamed message and posts the rest in the thread.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SlackPlatform } from '../src/gateway/platforms/slack/index.ts';
import type { ReplyTarget } from '../src/gateway/types.ts';
import { silentLogger } from '../src/logger.ts';
import { type FakeSlackApi, startFakeSlackApi } from './support/fake-slack-api.ts';

let fake: FakeSlackApi;
let platform: SlackPlatform;
const target: ReplyTarget = {
  chatId: 'C0009',
  threadId: '1764000009.000100',
  inboundMessageId: '1764000009.000100',
  userId: 'U0BOB',
  isPrivate: false,
};

before(async () => {
  fake = await startFakeSlackApi();
  platform = new SlackPlatform({
    config: {
      bot_token: 'xoxb-test',
      app_token: 'xapp-test',
      allowed_users: [],
      native_streaming: true,
      streaming: {},
    },
    logger: silentLogger(),
    slackApiUrl: fake.slackApiUrl,
  });
  await platform.start();
});

after(async () => {
  await platform?.stop();
  await fake?.close();
});

function streamCalls(since: number) {
  return fake.calls.slice(since).filter((c) => c.method.startsWith('chat.'));
}

test('markdown_text is sent in pieces of at most 12,000 characters', async () => {
  const stream = platform.openNativeStream(target);
  assert.ok(stream);
  const start = fake.calls.length;
  const text = 'a'.repeat(25_000);
  await stream.update(text);
  await stream.finish(text);
  const calls = streamCalls(start);
  assert.deepEqual(
    calls.map((c) => [c.method, String(c.params.markdown_text ?? '').length]),
    [
      ['chat.startStream', 12_000],
      ['chat.appendStream', 12_000],
      ['chat.appendStream', 1_000],
      ['chat.stopStream', 0],
    ],
  );
  assert.equal(fake.messages.get(String(calls[1]?.params.ts))?.text, text);
});

test('a reply longer than 40,000 characters continues in a new thread message', async () => {
  const stream = platform.openNativeStream(target);
  assert.ok(stream);
  const start = fake.calls.length;
  const text = `${'b'.repeat(39_990)}${'c'.repeat(20)}`;
  await stream.update(text.slice(0, 30_000));
  await stream.finish(text);
  const calls = streamCalls(start);
  assert.deepEqual(
    calls.map((c) => c.method),
    ['chat.startStream', 'chat.appendStream', 'chat.appendStream', 'chat.stopStream', 'chat.postMessage'],
  );
  const streamed = fake.messages.get(String(calls[1]?.params.ts));
  assert.equal(streamed?.text, text.slice(0, 40_000));
  assert.deepEqual(calls[4]?.params, {
    channel: 'C0009',
    thread_ts: '1764000009.000100',
    text: 'c'.repeat(10),
  });
});
