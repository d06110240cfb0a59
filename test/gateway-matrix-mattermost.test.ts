/**
 * End to end through the gateway for Matrix and Mattermost: the real GatewayRunner, Agent, model
 * client and SQLite session store, each platform's real client library pointed at its loopback fake,
 * and the scripted upstream model. A turn streams into one message holding exactly the answer; the
 * allow-list refuses strangers without a model call; rooms/channels answer only when addressed;
 * `/status`, `/new` and `/stop` (typed as `!status`… where clients claim the slash) work as on Telegram.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { createChatPlatforms, GatewayRunner } from '../src/gateway/index.ts';
import { silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { openDatabase, SqliteSessionStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import { startFakeMatrixHomeserver } from './support/fake-matrix-homeserver.ts';
import { startFakeMattermostApi } from './support/fake-mattermost-api.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';
import { waitUntil } from './support/wait-until.ts';

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Gateway + agent + store over `platforms` config; platforms built by the real factory. */
async function startGateway(
  t: { after: (fn: () => Promise<void>) => void },
  platforms: Record<string, unknown>,
) {
  const home = mkdtempSync(join(tmpdir(), 'herald-gw-mx-'));
  tempDirs.push(home);
  const upstream = await ScriptedUpstream.start();
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, api_key: 'test', model: 'test-model', max_retries: 0 },
      agent: { workspace: join(home, 'workspace') },
      platforms,
    }),
    home,
  };
  const logger = silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  const agent = new Agent({
    model: createModelClient(config.model, { logger }),
    tools: createToolRegistry(config),
    config,
    logger,
  });
  const chat = await createChatPlatforms(config, logger);
  assert.equal(chat.length, 1);
  const gateway = new GatewayRunner({
    config,
    agent,
    sessions: new SqliteSessionStore(db),
    platforms: chat,
    logger,
  });
  await gateway.start();
  t.after(async () => {
    await gateway.stop();
    db.close();
    await upstream.close();
  });
  return { upstream, gateway };
}

describe('GatewayRunner with Matrix', () => {
  const alice = '@alice:fake.test';

  async function harness(t: { after: (fn: () => Promise<void>) => void }) {
    const fake = await startFakeMatrixHomeserver();
    t.after(() => fake.close());
    const dm = fake.createRoom({ members: [fake.botUserId, alice] });
    const room = fake.createRoom({ members: [fake.botUserId, alice, '@bob:fake.test'] });
    const { upstream, gateway } = await startGateway(t, {
      matrix: {
        homeserver: fake.baseUrl,
        access_token: fake.accessToken,
        allowed_users: [alice],
        streaming: { edit_interval_ms: 30 },
      },
    });
    const texts = (roomId: string) => fake.botMessages(roomId).map((m) => String(m.content.body));
    const waitForText = (roomId: string, match: (text: string) => boolean, what: string) =>
      waitUntil(() => texts(roomId).some(match), what);
    return { fake, dm, room, upstream, gateway, texts, waitForText };
  }

  it('answers a direct message by streaming edits into one message that ends as the answer', async (t) => {
    const { fake, dm, upstream, gateway, texts } = await harness(t);
    const answer = 'Here is a **short** answer that streams in several pieces over Matrix.';
    upstream.enqueue({ text: answer, chunkDelayMs: 15 });
    fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: 'hi' });
    await upstream.waitForRequests(1);
    await gateway.idle();
    assert.deepEqual(texts(dm), [answer]);
    assert.deepEqual(upstream.requests[0]!.body.messages.at(-1), { role: 'user', content: 'hi' });
    assert.ok(fake.calls.some((c) => c.kind === 'typing' && c.roomId === dm));
    assert.ok(
      fake
        .roomEvents(dm)
        .some(
          (e) => (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace',
        ),
    );
  });

  it('refuses strangers, ignores unaddressed room chatter, answers a mention in its thread', async (t) => {
    const { fake, dm, room, upstream, gateway, waitForText } = await harness(t);
    fake.sendAsUser(dm, '@mallory:fake.test', { msgtype: 'm.text', body: 'let me in' });
    await waitForText(dm, (text) => text.includes('allow-list'), 'refusal');
    upstream.enqueue({ text: 'Thread answer.' });
    fake.sendAsUser(room, alice, { msgtype: 'm.text', body: 'talking among ourselves' });
    const root = fake.sendAsUser(room, alice, { msgtype: 'm.text', body: 'thread start' });
    fake.sendAsUser(room, alice, {
      msgtype: 'm.text',
      body: 'Herald: what now?',
      'm.mentions': { user_ids: [fake.botUserId] },
      'm.relates_to': {
        rel_type: 'm.thread',
        event_id: root,
        is_falling_back: true,
        'm.in_reply_to': { event_id: root },
      },
    });
    await waitForText(room, (text) => text === 'Thread answer.', 'thread answer');
    await gateway.idle();
    assert.equal(upstream.requests.length, 1);
    assert.deepEqual(upstream.requests[0]!.body.messages.at(-1), { role: 'user', content: 'what now?' });
    const sent = fake.roomEvents(room).find((e) => e.sender === fake.botUserId);
    const relation = sent!.content['m.relates_to'] as { rel_type: string; event_id: string };
    assert.deepEqual([relation.rel_type, relation.event_id], ['m.thread', root]);
  });

  it('!status, !new and !stop work as /status, /new and /stop', async (t) => {
    const { fake, dm, upstream, gateway, texts, waitForText } = await harness(t);
    upstream.enqueue({ text: 'First answer.' });
    fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: 'one' });
    await waitForText(dm, (text) => text === 'First answer.', 'first answer');
    await gateway.idle();
    fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: '!status' });
    await waitForText(dm, (text) => text.startsWith('Model: test-model'), 'status');
    assert.match(texts(dm).at(-1)!, /Conversation: 2 messages/);
    fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: '!new' });
    await waitForText(dm, (text) => text === 'Started a new conversation.', 'new');
    upstream.enqueue({ text: 'word '.repeat(600), chunkDelayMs: 20 });
    fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: 'write a lot' });
    await upstream.waitForRequests(2);
    fake.sendAsUser(dm, alice, { msgtype: 'm.text', body: '!stop' });
    await waitForText(dm, (text) => text === 'Stopped.', 'stop');
    await gateway.idle();
    await waitUntil(() => upstream.aborted === 1, 'upstream aborted');
    // After /new, the second request carried no history from the first turn.
    assert.deepEqual(
      upstream.requests[1]!.body.messages.filter((m: { role: string }) => m.role !== 'system'),
      [{ role: 'user', content: 'write a lot' }],
    );
  });
});

describe('GatewayRunner with Mattermost', () => {
  const alice = 'aliceuserid000000000000000';

  async function harness(t: { after: (fn: () => Promise<void>) => void }) {
    const fake = await startFakeMattermostApi();
    t.after(() => fake.close());
    const { upstream, gateway } = await startGateway(t, {
      mattermost: {
        url: fake.url,
        token: fake.token,
        allowed_users: [alice],
        streaming: { edit_interval_ms: 30 },
      },
    });
    await fake.connected();
    const texts = (channelId: string) => fake.botPosts(channelId).map((p) => p.message);
    const waitForText = (channelId: string, match: (text: string) => boolean, what: string) =>
      waitUntil(() => texts(channelId).some(match), what);
    return { fake, upstream, gateway, texts, waitForText };
  }

  it('answers a direct message by streaming post patches into one post that ends as the answer', async (t) => {
    const { fake, upstream, gateway, texts } = await harness(t);
    const answer = 'Here is a **short** answer that streams in several pieces over Mattermost.';
    upstream.enqueue({ text: answer, chunkDelayMs: 15 });
    fake.post({ channelId: 'dm1', userId: alice, message: 'hi', channelType: 'D' });
    await upstream.waitForRequests(1);
    await gateway.idle();
    assert.deepEqual(texts('dm1'), [answer]);
    assert.ok(fake.calls.some((c) => c.kind === 'patch'));
    assert.ok(fake.socketActions.some((a) => a.action === 'user_typing'));
  });

  it('refuses strangers, ignores unmentioned channel posts, answers a mention in a thread', async (t) => {
    const { fake, upstream, gateway, waitForText } = await harness(t);
    fake.post({
      channelId: 'dm2',
      userId: 'strangerid0000000000000000',
      message: 'let me in',
      channelType: 'D',
    });
    await waitForText('dm2', (text) => text.includes('allow-list'), 'refusal');
    upstream.enqueue({ text: 'Channel answer.' });
    fake.post({ channelId: 'town', userId: alice, message: 'chatter', channelType: 'O' });
    const mention = fake.post({
      channelId: 'town',
      userId: alice,
      message: '@herald hello',
      channelType: 'O',
      mentions: [fake.botUserId],
    });
    await waitForText('town', (text) => text === 'Channel answer.', 'channel answer');
    await gateway.idle();
    assert.equal(upstream.requests.length, 1);
    assert.deepEqual(upstream.requests[0]!.body.messages.at(-1), { role: 'user', content: 'hello' });
    assert.equal(fake.botPosts('town')[0]!.root_id, mention);
  });

  it('/status in a channel mention, !new and !stop in a DM', async (t) => {
    const { fake, upstream, gateway, texts, waitForText } = await harness(t);
    fake.post({
      channelId: 'town',
      userId: alice,
      message: '@herald /status',
      channelType: 'O',
      mentions: [fake.botUserId],
    });
    await waitForText('town', (text) => text.startsWith('Model: test-model'), 'status');
    fake.post({ channelId: 'dm1', userId: alice, message: '!new', channelType: 'D' });
    await waitForText('dm1', (text) => text === 'Started a new conversation.', 'new');
    upstream.enqueue({ text: 'word '.repeat(600), chunkDelayMs: 20 });
    fake.post({ channelId: 'dm1', userId: alice, message: 'write a lot', channelType: 'D' });
    await upstream.waitForRequests(1);
    fake.post({ channelId: 'dm1', userId: alice, message: '!stop', channelType: 'D' });
    await waitForText('dm1', (text) => text === 'Stopped.', 'stop');
    await gateway.idle();
    await waitUntil(() => upstream.aborted === 1, 'upstream aborted');
    assert.ok(
      texts('dm1').every((text) => !text.includes('▌')),
      'the partial reply was finalised',
    );
  });
});
