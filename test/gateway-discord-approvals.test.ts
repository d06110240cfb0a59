/**
 * Approvals on Discord, end to end: the real GatewayRunner, Agent and terminal tool, DiscordPlatform
 * (discord.js) against the loopback Discord fake, and the scripted upstream. A dangerous command waits
 * for a button; a press by someone else is answered with an ephemeral note; the owner's press is
 * acknowledged as an update, runs the command, and the prompt loses its buttons.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { GatewayRunner } from '../src/gateway/index.ts';
import { DiscordPlatform } from '../src/gateway/platforms/discord/index.ts';
import { silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { openDatabase, SqliteSessionStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import { nextSnowflake, startFakeDiscordApi } from './support/fake-discord-api.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const alice = { id: nextSnowflake(), username: 'alice' };
const mallory = { id: nextSnowflake(), username: 'mallory' };
const dmChannelId = nextSnowflake();

/** Polls `predicate`, failing after a generous hang guard. */
async function waitUntil(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('Discord: approval buttons, a stranger’s press gets an ephemeral note, the owner’s runs the command', {
  timeout: 30_000,
}, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'herald-discord-approvals-'));
  mkdirSync(join(home, 'workspace', 'build'), { recursive: true });
  const upstream = await ScriptedUpstream.start();
  const fake = await startFakeDiscordApi();
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, api_key: 'test', model: 'test-model', max_retries: 0 },
      agent: { workspace: join(home, 'workspace') },
      platforms: {
        discord: { token: 'test-token', allowed_users: [alice.id], streaming: { edit_interval_ms: 30 } },
      },
    }),
    home,
  };
  const logger = silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  const platform = new DiscordPlatform({
    config: { ...config.platforms.discord, token: 'test-token' },
    logger,
    restApi: fake.restApi,
  });
  const gateway = new GatewayRunner({
    config,
    agent: new Agent({
      model: createModelClient(config.model, { logger }),
      tools: createToolRegistry(config),
      config,
      logger,
    }),
    sessions: new SqliteSessionStore(db),
    platforms: [platform],
    logger,
  });
  await gateway.start();
  t.after(async () => {
    await gateway.stop();
    db.close();
    await fake.close();
    await upstream.close();
    rmSync(home, { recursive: true, force: true });
  });

  upstream.enqueue(
    { toolCalls: [{ id: 'call_rm', name: 'terminal', arguments: { command: 'rm -rf build' } }] },
    { text: 'Cleaned up.' },
  );
  fake.pushMessage({ channelId: dmChannelId, author: alice, content: 'clean the build dir' });
  const promptOf = () => [...fake.messages.entries()].find(([, m]) => (m.components ?? []).length > 0);
  await waitUntil(() => promptOf() !== undefined, 'approval prompt');
  const [messageId, prompt] = promptOf()!;
  assert.match(prompt.content, /Approval needed: terminal\nrm -rf build/);
  const buttons = prompt.components![0]!.components;
  assert.deepEqual(
    buttons.map((b) => b.label),
    ['Approve once', 'This conversation', 'Always', 'Deny'],
  );
  const callbacks = () => fake.calls.filter((c) => c.path.startsWith('/interactions/'));

  fake.pressButton({ channelId: dmChannelId, user: mallory, messageId, customId: buttons[0]!.custom_id });
  await waitUntil(() => callbacks().length === 1, 'interaction answer');
  const note = callbacks()[0]!.body as { type: number; data: { content: string; flags: number } };
  assert.deepEqual(
    [note.type, note.data.content, note.data.flags],
    [4, 'Only the person who asked (or an admin) can answer this.', 64],
  );
  assert.equal(upstream.requests.length, 1, 'still waiting');

  fake.pressButton({ channelId: dmChannelId, user: alice, messageId, customId: buttons[0]!.custom_id });
  await waitUntil(() => upstream.requests.length === 2, 'second model call');
  await gateway.idle();
  assert.equal((callbacks()[1]!.body as { type: number }).type, 6, 'acknowledged as an update');
  assert.ok(!existsSync(join(home, 'workspace', 'build')), 'the approved command ran');
  const settled = fake.messages.get(messageId)!;
  assert.match(settled.content, /✅ Approved once$/);
  assert.deepEqual(settled.components, []);
});
