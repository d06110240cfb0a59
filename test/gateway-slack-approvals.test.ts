/**
 * Approvals on Slack, end to end: the real GatewayRunner, Agent and terminal tool, SlackPlatform
 * (Bolt in Socket Mode) against the loopback Slack fake, and the scripted upstream. A dangerous
 * command waits for a Block Kit button; a press by someone else gets an ephemeral note and changes
 * nothing; the owner's press runs it and the prompt is updated without its buttons.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SlackPlatform } from '../src/gateway/platforms/slack/index.ts';
import { silentLogger } from '../src/logger.ts';
import { scriptRemoveBuild, startApprovalGateway, waitUntil } from './support/approval-gateway.ts';
import { startFakeSlackApi } from './support/fake-slack-api.ts';

const owner = 'U0ALICE';

test('Slack: Block Kit approval buttons, only the owner’s press counts, the prompt loses its buttons', {
  timeout: 30_000,
}, async (t) => {
  const fake = await startFakeSlackApi();
  const tokens = { bot_token: 'xoxb-test', app_token: 'xapp-test' };
  const { home, upstream, gateway } = await startApprovalGateway(t, {
    platforms: {
      slack: {
        ...tokens,
        allowed_users: [owner],
        native_streaming: false,
        streaming: { edit_interval_ms: 30 },
      },
    },
    platform: (config) =>
      new SlackPlatform({
        config: { ...config.platforms.slack, ...tokens },
        logger: silentLogger(),
        slackApiUrl: fake.slackApiUrl,
      }),
    closeFake: () => fake.close(),
  });

  scriptRemoveBuild(upstream);
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
