/**
 * Approvals and pairing on Telegram, end to end: the real GatewayRunner, Agent and terminal tool, the
 * real grammY client against the fake Bot API (inline keyboards, button presses, answerCallbackQuery)
 * and the scripted upstream. A dangerous command waits for a button; only the person who asked or an
 * admin can press it; the prompt is edited to show the outcome. A stranger with `dm_policy: pairing`
 * gets a code and nothing else until the code is approved.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TelegramPlatform } from '../src/gateway/platforms/telegram/index.ts';
import { silentLogger } from '../src/logger.ts';
import { scriptRemoveBuild, startApprovalGateway } from './support/approval-gateway.ts';
import { FakeTelegramApi } from './support/fake-telegram-api.ts';

const owner = 42;
const admin = 7;
const stranger = 99;
async function startHarness(
  t: { after: (fn: () => Promise<void>) => void },
  telegram: Record<string, unknown> = {},
  approvals: Record<string, unknown> = {},
) {
  const api = await FakeTelegramApi.start();
  const rig = await startApprovalGateway(t, {
    approvals,
    platforms: {
      telegram: {
        token: api.token,
        api_root: api.apiRoot,
        allowed_users: [owner],
        admins: [admin],
        native_drafts: false,
        streaming: { edit_interval_ms: 30 },
        ...telegram,
      },
    },
    platform: () =>
      new TelegramPlatform({
        token: api.token,
        apiRoot: api.apiRoot,
        replyToMode: 'first',
        nativeDrafts: false,
        logger: silentLogger(),
        pollingTimeoutSeconds: 1,
      }),
    closeFake: () => api.close(),
  });
  return { api, ...rig };
}

type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Scripts `rm -rf build` then an answer, sends the owner's message, and returns the prompt once it shows. */
async function promptFor(h: Harness) {
  scriptRemoveBuild(h.upstream);
  h.api.sendText({ chatId: owner, userId: owner, text: 'clean the build dir' });
  await h.api.waitFor(() => h.api.messages(owner).some((m) => m.buttons), 10_000, 'approval prompt');
  return h.api.messages(owner).find((m) => m.buttons)!;
}

const dataOf = (
  prompt: { buttons: { text: string; callback_data: string }[][] | undefined },
  label: string,
) => prompt.buttons!.flat().find((b) => b.text === label)!.callback_data;

describe('Telegram approvals', { timeout: 30_000 }, () => {
  it('shows the command with buttons; Approve once runs it and the prompt shows the decision', async (t) => {
    const h = await startHarness(t);
    const prompt = await promptFor(h);
    assert.match(prompt.visible, /Approval needed: terminal\nrm -rf build/);
    assert.match(prompt.visible, /deletes files recursively/);
    assert.deepEqual(
      prompt.buttons!.flat().map((b) => b.text),
      ['Approve once', 'This conversation', 'Always', 'Deny'],
    );
    assert.ok(existsSync(join(h.home, 'workspace', 'build')));
    h.api.pressButton({
      chatId: owner,
      userId: owner,
      messageId: prompt.messageId,
      data: dataOf(prompt, 'Approve once'),
    });
    await h.api.waitFor(() => h.upstream.requests.length === 2, 10_000, 'second model call');
    await h.gateway.idle();
    assert.ok(!existsSync(join(h.home, 'workspace', 'build')), 'the approved command ran');
    const settled = h.api.messages(owner).find((m) => m.messageId === prompt.messageId)!;
    assert.match(settled.visible, /✅ Approved once$/);
    assert.equal(settled.buttons, undefined, 'the buttons are gone');
    assert.equal(h.api.callsOf('answerCallbackQuery')[0]!.params.text, '✅ Approved once');
    assert.ok(h.api.messages(owner).some((m) => m.visible === 'Cleaned up.'));
  });

  it('ignores a press by someone else, accepts an admin’s, and Deny refuses the command', async (t) => {
    const h = await startHarness(t);
    const prompt = await promptFor(h);
    h.api.pressButton({
      chatId: owner,
      userId: stranger,
      messageId: prompt.messageId,
      data: dataOf(prompt, 'Approve once'),
    });
    await h.api.waitFor(() => h.api.callsOf('answerCallbackQuery').length === 1, 10_000, 'refusal notice');
    assert.match(String(h.api.callsOf('answerCallbackQuery')[0]!.params.text), /Only the person who asked/);
    assert.equal(h.upstream.requests.length, 1, 'still waiting');
    h.api.pressButton({
      chatId: owner,
      userId: admin,
      messageId: prompt.messageId,
      data: dataOf(prompt, 'Deny'),
    });
    await h.api.waitFor(() => h.upstream.requests.length === 2, 10_000, 'second model call');
    await h.gateway.idle();
    const tool = h.upstream.requests[1]!.body.messages.find((m: { role: string }) => m.role === 'tool');
    assert.match(tool.content, /the user denied it/);
    assert.ok(existsSync(join(h.home, 'workspace', 'build')));
    assert.match(h.api.messages(owner).find((m) => m.messageId === prompt.messageId)!.visible, /⛔ Denied$/);
  });

  it('an unanswered prompt times out as a deny and says so', async (t) => {
    const h = await startHarness(t, {}, { timeout_s: 1 });
    const prompt = await promptFor(h);
    await h.api.waitFor(() => h.upstream.requests.length === 2, 10_000, 'second model call');
    await h.gateway.idle();
    assert.match(
      h.api.messages(owner).find((m) => m.messageId === prompt.messageId)!.visible,
      /No answer in time/,
    );
  });

  it('/stop while waiting cancels the request', async (t) => {
    const h = await startHarness(t);
    const prompt = await promptFor(h);
    h.api.sendText({ chatId: owner, userId: owner, text: '/stop' });
    await h.api.waitFor(
      () => /Cancelled$/.test(h.api.messages(owner).find((m) => m.messageId === prompt.messageId)!.visible),
      10_000,
      'cancelled prompt',
    );
    await h.gateway.idle();
    assert.equal(h.upstream.requests.length, 1);
    assert.ok(existsSync(join(h.home, 'workspace', 'build')));
  });
});

describe('Telegram pairing', { timeout: 30_000 }, () => {
  it('gives a stranger a code and nothing else, stays silent on repeats, and admits them once approved', async (t) => {
    const h = await startHarness(t, { dm_policy: 'pairing' });
    h.api.sendText({ chatId: stranger, userId: stranger, text: 'hello?' });
    await h.api.waitFor(() => h.api.messages(stranger).length === 1, 10_000, 'pairing code');
    const code = /Your pairing code: ([A-Z0-9]{6})/.exec(h.api.messages(stranger)[0]!.visible)![1]!;
    h.api.sendText({ chatId: stranger, userId: stranger, text: 'please answer' });
    await h.api.waitForDelivery();
    await h.gateway.idle();
    assert.equal(h.api.messages(stranger).length, 1, 'no second reply');
    assert.equal(h.upstream.requests.length, 0, 'no agent run for a stranger');
    assert.deepEqual(
      (await h.pairing.pending()).map((p) => [p.code, p.userId]),
      [[code, String(stranger)]],
    );

    assert.equal((await h.pairing.approve(code))?.userId, String(stranger));
    h.upstream.enqueue({ text: 'Hi, nice to meet you.' });
    h.api.sendText({ chatId: stranger, userId: stranger, text: 'hello again' });
    await h.api.waitFor(() => h.upstream.requests.length === 1, 10_000, 'agent run');
    await h.gateway.idle();
    assert.equal(h.api.messages(stranger).at(-1)!.visible, 'Hi, nice to meet you.');
  });

  it('offers the code to the admins with buttons; an admin lets the stranger in', async (t) => {
    const h = await startHarness(t, { dm_policy: 'pairing' });
    h.api.sendText({ chatId: stranger, userId: stranger, text: 'hello?', userName: 'eve' });
    await h.api.waitFor(() => h.api.messages(admin).length === 1, 10_000, 'offer to the admin');
    const offer = h.api.messages(admin)[0]!;
    const [pending] = await h.pairing.pending();
    assert.equal(
      offer.visible,
      `🔑 telegram user ${stranger} (@eve) asks to talk to me (pairing code ${pending!.code}).`,
    );
    assert.deepEqual(
      offer.buttons!.flat().map((b) => b.text),
      ['Let in', 'Refuse'],
    );
    h.api.pressButton({
      chatId: owner,
      userId: owner,
      messageId: offer.messageId,
      data: dataOf(offer, 'Let in'),
    });
    await h.api.waitFor(() => h.api.callsOf('answerCallbackQuery').length === 1, 10_000, 'notice');
    assert.equal(
      await h.pairing.isPaired('telegram', String(stranger)),
      false,
      'only admins decide pairings',
    );
    h.api.pressButton({
      chatId: admin,
      userId: admin,
      messageId: offer.messageId,
      data: dataOf(offer, 'Let in'),
    });
    await h.api.waitFor(() => /✅ Let in$/.test(h.api.messages(admin)[0]!.visible), 10_000, 'settled offer');
    assert.equal(await h.pairing.isPaired('telegram', String(stranger)), true);
    assert.equal(h.api.messages(admin)[0]!.buttons, undefined);
  });

  it('a denied code keeps the stranger unanswered', async (t) => {
    const h = await startHarness(t, { dm_policy: 'pairing' });
    h.api.sendText({ chatId: stranger, userId: stranger, text: 'hi' });
    await h.api.waitFor(() => h.api.messages(stranger).length === 1, 10_000, 'pairing code');
    const [pending] = await h.pairing.pending();
    await h.pairing.deny(pending!.code);
    assert.equal(await h.pairing.approve(pending!.code), undefined, 'a denied code cannot be approved');
    h.api.sendText({ chatId: stranger, userId: stranger, text: 'hi again' });
    await h.api.waitForDelivery();
    await h.gateway.idle();
    assert.equal(h.api.messages(stranger).length, 1);
    assert.equal(h.upstream.requests.length, 0);
  });

  it('with the default allowlist policy a stranger gets the refusal, not a code', async (t) => {
    const h = await startHarness(t);
    h.api.sendText({ chatId: stranger, userId: stranger, text: 'hi' });
    await h.api.waitFor(() => h.api.messages(stranger).length === 1, 10_000, 'refusal');
    assert.match(h.api.messages(stranger)[0]!.visible, /only answer people on my allow-list/);
    assert.deepEqual(await h.pairing.pending(), []);
  });
});
