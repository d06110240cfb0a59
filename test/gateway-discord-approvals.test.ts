/**
 * Approvals on Discord, end to end: the real GatewayRunner, Agent and terminal tool, DiscordPlatform
 * (discord.js) against the loopback Discord fake, and the scripted upstream. A dangerous command waits
 * for a button; a press by someone else is answered with an ephemeral note; the owner's press is
 * acknowledged as an update, runs the command, and the prompt loses its buttons.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DiscordPlatform } from '../src/gateway/platforms/discord/index.ts';
import { silentLogger } from '../src/logger.ts';
import { scriptRemoveBuild, startApprovalGateway, waitUntil } from './support/approval-gateway.ts';
import { nextSnowflake, startFakeDiscordApi } from './support/fake-discord-api.ts';

const alice = { id: nextSnowflake(), username: 'alice' };
const mallory = { id: nextSnowflake(), username: 'mallory' };
const dmChannelId = nextSnowflake();

test('Discord: approval buttons, a stranger’s press gets an ephemeral note, the owner’s runs the command', {
  timeout: 30_000,
}, async (t) => {
  const fake = await startFakeDiscordApi();
  const { home, upstream, gateway } = await startApprovalGateway(t, {
    platforms: {
      discord: { token: 'test-token', allowed_users: [alice.id], streaming: { edit_interval_ms: 30 } },
    },
    platform: (config) =>
      new DiscordPlatform({
        config: { ...config.platforms.discord, token: 'test-token' },
        logger: silentLogger(),
        restApi: fake.restApi,
      }),
    closeFake: () => fake.close(),
  });

  scriptRemoveBuild(upstream);
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
