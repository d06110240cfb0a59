/**
 * The DingTalk door end to end: the real `dingtalk-stream` SDK (through DingTalkPlatform) connected to
 * a local fake Stream gateway, the real GatewayRunner, Agent and SQLite session store, and the
 * scripted upstream model.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { GatewayRunner } from '../src/gateway/index.ts';
import { DINGTALK_MAX_MESSAGE_CHARS, DingTalkPlatform } from '../src/gateway/platforms/dingtalk/index.ts';
import { silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { openDatabase, SqliteSessionStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import { FakeDingTalkApi } from './support/fake-dingtalk-api.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function startHarness(
  t: { after: (fn: () => Promise<void>) => void },
  options: { card?: boolean; secret?: string } = {},
) {
  const home = mkdtempSync(join(tmpdir(), 'herald-dingtalk-'));
  tempDirs.push(home);
  const upstream = await ScriptedUpstream.start();
  const api = await FakeDingTalkApi.start();
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, api_key: 'test', model: 'test-model', max_retries: 0 },
      agent: { workspace: join(home, 'workspace') },
      platforms: {
        dingtalk: {
          client_id: api.clientId,
          client_secret: options.secret ?? api.clientSecret,
          api_root: api.apiRoot,
          allowed_users: ['staff-1'],
          ...(options.card ? { card_template_id: 'tpl.schema', streaming: { edit_interval_ms: 30 } } : {}),
        },
      },
    }),
    home,
  };
  const logger = silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  const sessions = new SqliteSessionStore(db);
  const agent = new Agent({
    model: createModelClient(config.model, { logger }),
    tools: createToolRegistry(config),
    config,
    logger,
  });
  const dingtalk = new DingTalkPlatform({
    config: {
      ...config.platforms.dingtalk,
      client_id: api.clientId,
      client_secret: options.secret ?? api.clientSecret,
    },
    logger,
  });
  const gateway = new GatewayRunner({
    config,
    agent,
    sessions,
    platforms: [dingtalk],
    logger,
    startRetry: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
  });
  const connected = api.connected();
  await gateway.start();
  t.after(async () => {
    await gateway.stop();
    db.close();
    await api.close();
    await upstream.close();
  });
  return { api, upstream, gateway, sessions, dingtalk, connected };
}

describe('DingTalkPlatform with the Stream SDK against a fake gateway', () => {
  it('answers a private message with one Markdown reply through its sessionWebhook, and acks the callback', async (t) => {
    const { api, upstream, connected } = await startHarness(t);
    await connected;
    upstream.enqueue({ text: '**Hello** from Herald.' });
    const msgId = api.sendRobotMessage({ text: ' hi there ' });
    const reply = await api.replies.next();
    assert.equal(reply.path, `/session/${msgId}`);
    assert.deepEqual(reply.body, {
      msgtype: 'markdown',
      markdown: { title: 'Hello from Herald.', text: '**Hello** from Herald.' },
    });
    assert.ok(api.acks.includes(`stream-${msgId}`));
    const users = upstream.requests[0]!.body.messages.filter((m: { role: string }) => m.role === 'user');
    assert.equal(users[0].content, 'hi there');
  });

  it('takes group messages only when the bot is @-mentioned, and only from allowed users', async (t) => {
    const { api, upstream, gateway, connected } = await startHarness(t);
    await connected;
    upstream.enqueue({ text: 'Group answer.' });
    api.sendRobotMessage({ text: 'not for you', isPrivate: false, isInAtList: false });
    api.sendRobotMessage({ text: 'stranger', isPrivate: false, isInAtList: true, userId: 'staff-9' });
    const msgId = api.sendRobotMessage({ text: 'question', isPrivate: false, isInAtList: true });
    const reply = await api.replies.next();
    assert.equal(reply.path, `/session/${msgId}`);
    await gateway.idle();
    assert.equal(upstream.requests.length, 1);
  });

  it(`splits a long reply at ${DINGTALK_MAX_MESSAGE_CHARS} characters, sent when the reply is complete`, async (t) => {
    const { api, upstream, connected } = await startHarness(t);
    await connected;
    const paragraph = `${'汉字 and text. '.repeat(40).trim()}\n\n`;
    const answer = paragraph.repeat(Math.ceil(9000 / paragraph.length)).trim();
    upstream.enqueue({ text: answer });
    api.sendRobotMessage({ text: 'long please' });
    const parts = [await api.replies.next(), await api.replies.next(), await api.replies.next()];
    for (const part of parts) assert.ok([...part.body.markdown.text].length <= DINGTALK_MAX_MESSAGE_CHARS);
    assert.equal(parts.map((p) => p.body.markdown.text).join(''), answer);
  });

  it('/new resets the conversation', async (t) => {
    const { api, upstream, sessions, connected, gateway } = await startHarness(t);
    await connected;
    upstream.enqueue({ text: 'First.' });
    api.sendRobotMessage({ text: 'remember this' });
    await api.replies.next();
    await gateway.idle();
    const key = 'dingtalk:cid-private-staff-1:-';
    assert.equal(await sessions.count(key), 2);
    api.sendRobotMessage({ text: '/new' });
    assert.equal((await api.replies.next()).body.markdown.text, 'Started a new conversation.');
    assert.equal(await sessions.count(key), 0);
  });

  it('streams into an AI card when a template is configured', async (t) => {
    const { api, upstream, gateway, connected } = await startHarness(t, { card: true });
    await connected;
    const answer = 'Streaming into a card, word by word, until the very end of the answer.';
    upstream.enqueue({ text: answer, chunkDelayMs: 15 });
    api.sendRobotMessage({ text: 'card please' });
    await upstream.waitForRequests(1);
    await gateway.idle();
    const cards = api.cardCalls();
    assert.equal(cards[0]!.path, '/v1.0/card/instances/createAndDeliver');
    assert.equal(cards[0]!.body.cardTemplateId, 'tpl.schema');
    assert.equal(cards[0]!.body.openSpaceId, 'dtv1.card//IM_ROBOT.staff-1');
    const updates = cards.filter((c) => c.path === '/v1.0/card/streaming');
    assert.ok(updates.length >= 2, `expected progressive updates, got ${updates.length}`);
    const last = updates[updates.length - 1]!.body;
    assert.equal(last.content, answer);
    assert.equal(last.isFinalize, true);
    assert.ok(
      updates.slice(0, -1).every((u) => u.body.isFinalize === false && answer.startsWith(u.body.content)),
    );
    assert.equal(api.calls.filter((c) => c.path.startsWith('/session/')).length, 0);
  });

  it('start fails with the gateway’s reason when the credentials are refused', async () => {
    const api = await FakeDingTalkApi.start();
    try {
      const config = configSchema.parse({}).platforms.dingtalk;
      const platform = new DingTalkPlatform({
        config: { ...config, client_id: api.clientId, client_secret: 'wrong', api_root: api.apiRoot },
        logger: silentLogger(),
      });
      await assert.rejects(platform.start(), /bad credentials/);
      await platform.stop();
    } finally {
      await api.close();
    }
  });
});
