/**
 * Approvals on Slack, end to end: the real GatewayRunner, Agent and terminal tool, SlackPlatform
 * (Bolt in Socket Mode) against the loopback Slack fake, and the scripted upstream. A dangerous
 * command waits for a Block Kit button; a press by someone else gets an ephemeral note and changes
 * nothing; the owner's press runs it and the prompt is updated without its buttons.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { GatewayRunner } from '../src/gateway/index.ts';
import { SlackPlatform } from '../src/gateway/platforms/slack/index.ts';
import { silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { openDatabase, SqliteSessionStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import { startFakeSlackApi } from './support/fake-slack-api.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const owner = 'U0ALICE';

/** Polls `predicate`, failing after a generous hang guard. */
async function waitUntil(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('Slack: Block Kit approval buttons, only the owner’s press counts, the prompt loses its buttons', {
  timeout: 30_000,
}, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'herald-slack-approvals-'));
  mkdirSync(join(home, 'workspace', 'build'), { recursive: true });
  const upstream = await ScriptedUpstream.start();
  const fake = await startFakeSlackApi();
  const slack = {
    bot_token: 'xoxb-test',
    app_token: 'xapp-test',
    allowed_users: [owner],
    native_streaming: false,
  };
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, api_key: 'test', model: 'test-model', max_retries: 0 },
      agent: { workspace: join(home, 'workspace') },
      platforms: { slack: { ...slack, streaming: { edit_interval_ms: 30 } } },
    }),
    home,
  };
  const logger = silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  const platform = new SlackPlatform({
    config: { ...config.platforms.slack, bot_token: slack.bot_token, app_token: slack.app_token },
    logger,
    slackApiUrl: fake.slackApiUrl,
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
  // In this order: the Socket Mode client must close while the fake still answers.
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
  await fake.pushEvent({
    type: 'message',
    channel: 'D0001',
    channel_type: 'im',
    user: owner,
    text: 'clean the build dir',
    ts: '1764000001.000100',
  });
  const promptOf = () =>
    [...fake.messages.entries()].find(([, m]) => m.blocks?.some((b) => b['type'] === 'actions'));
  await waitUntil(() => promptOf() !== undefined, 'approval prompt');
  const [ts, prompt] = promptOf()!;
  assert.match(prompt.text, /Approval needed: terminal\nrm -rf build/);
  const actions = prompt.blocks!.find((b) => b['type'] === 'actions')!['elements'] as {
    action_id: string;
    value: string;
  }[];
  assert.deepEqual(
    actions.map((a) => a.action_id),
    ['herald_approval_once', 'herald_approval_session', 'herald_approval_always', 'herald_approval_deny'],
  );

  await fake.pressButton({
    user: 'U0MALLORY',
    channel: 'D0001',
    ts,
    actionId: actions[0]!.action_id,
    value: actions[0]!.value,
  });
  await waitUntil(() => fake.ephemeral.length === 1, 'ephemeral note');
  assert.deepEqual(fake.ephemeral[0], {
    channel: 'D0001',
    user: 'U0MALLORY',
    text: 'Only the person who asked (or an admin) can answer this.',
  });
  assert.equal(upstream.requests.length, 1, 'still waiting');

  await fake.pressButton({
    user: owner,
    channel: 'D0001',
    ts,
    actionId: actions[0]!.action_id,
    value: actions[0]!.value,
  });
  await waitUntil(() => upstream.requests.length === 2, 'second model call');
  await gateway.idle();
  assert.ok(!existsSync(join(home, 'workspace', 'build')), 'the approved command ran');
  const settled = fake.messages.get(ts)!;
  assert.match(settled.text, /✅ Approved once$/);
  assert.deepEqual(
    settled.blocks!.map((b) => b['type']),
    ['section'],
  );
  assert.ok([...fake.messages.values()].some((m) => m.text === 'Cleaned up.'));
});
