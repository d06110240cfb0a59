/**
 * Approvals and pairing on WhatsApp, end to end: the real GatewayRunner, Agent and terminal tool, the
 * WhatsApp adapter on the fake Baileys socket, and the scripted upstream. A dangerous command waits
 * for a numbered reply; only the person who asked or an admin can answer; the answer never reaches the
 * agent as a prompt; the prompt is edited to show the outcome. A stranger with `dm_policy: pairing`
 * gets a code and nothing else until the code is approved (by `herald pairing` or an admin's reply).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runPairing } from '../src/cli/pairing-command.ts';
import { heraldPaths } from '../src/config/index.ts';
import { WhatsAppPlatform } from '../src/gateway/platforms/whatsapp/index.ts';
import { silentLogger } from '../src/logger.ts';
import { scriptRemoveBuild, startApprovalGateway, waitUntil } from './support/approval-gateway.ts';
import {
  FakeWhatsApp,
  type FakeWhatsAppSocket,
  inboundMessage,
  OWNER_JID,
  OWNER_PHONE,
  writeLinkedCreds,
} from './support/fake-whatsapp.ts';

const PREFIX = '⚕ *Herald*\n';
const ALICE = '4917600000002';
const ALICE_JID = `${ALICE}@s.whatsapp.net`;
const ADMIN = '4917600000003';
const ADMIN_JID = `${ADMIN}@s.whatsapp.net`;
const BOB_JID = '4917600000004@s.whatsapp.net';
const STRANGER = '4410000000099';
const STRANGER_JID = `${STRANGER}@s.whatsapp.net`;
const GROUP = '120363000000000001@g.us';
const CHOICES =
  'Reply with a number:\n1 – approve once\n2 – approve for this conversation\n3 – always approve\n4 – deny';

async function startHarness(
  t: { after: (fn: () => Promise<void>) => void },
  whatsapp: Record<string, unknown> = {},
  approvals: Record<string, unknown> = {},
) {
  const fake = new FakeWhatsApp();
  const rig = await startApprovalGateway(t, {
    approvals,
    platforms: {
      whatsapp: {
        allowed_users: [ALICE],
        admins: [`+49 176 ${ADMIN.slice(5)}`],
        streaming: { edit_interval_ms: 30 },
        ...whatsapp,
      },
    },
    platform: (config) => {
      const authDir = heraldPaths(config.home).whatsappAuth;
      writeLinkedCreds(authDir);
      // The gateway's start waits for WhatsApp to accept the session: open the socket once it exists.
      void fake.socket(1).then((socket) => socket.open());
      return new WhatsAppPlatform({
        config: config.platforms.whatsapp,
        authDir,
        logger: silentLogger(),
        createSocket: fake.createSocket,
      });
    },
    closeFake: async () => {},
  });
  const socket = await fake.socket(1);
  return { ...rig, socket };
}

type Harness = Awaited<ReturnType<typeof startHarness>>;

/** What `jid` shows, each message without the reply prefix. */
const shown = (socket: FakeWhatsAppSocket, jid: string) =>
  socket.chat(jid).map((m) => ({ ...m, text: m.text.slice(PREFIX.length) }));

/** The chat's messages that offer numbered choices and are not settled yet. */
const openPrompts = (socket: FakeWhatsAppSocket, jid: string) =>
  shown(socket, jid).filter((m) => m.text.includes('Reply with a number:'));

/** Scripts `rm -rf build`, sends Alice's request (in `chat`), and returns the prompt once it shows. */
async function promptFor(h: Harness, chat = ALICE_JID, text = 'clean the build dir') {
  scriptRemoveBuild(h.upstream);
  const group = chat === GROUP ? { participant: ALICE_JID, mentions: [OWNER_JID] } : {};
  h.socket.receive(inboundMessage({ chat, text, ...group }));
  await waitUntil(() => openPrompts(h.socket, chat).length === 1, 'approval prompt');
  return openPrompts(h.socket, chat)[0]!;
}

const promptNow = (h: Harness, chat: string, id: string) => shown(h.socket, chat).find((m) => m.id === id)!;

/** The user messages the model was sent, over every request. */
const userTurns = (h: Harness) =>
  h.upstream.requests.flatMap((r) =>
    r.body.messages
      .filter((m: { role: string }) => m.role === 'user')
      .map((m: { content: string }) => m.content),
  );

const toolResult = (h: Harness, request: number) =>
  h.upstream.requests[request]!.body.messages.find((m: { role: string }) => m.role === 'tool')
    .content as string;

describe('WhatsApp approvals', { timeout: 30_000 }, () => {
  it('shows the command, the reason and numbered choices; "1" runs it and never reaches the agent', async (t) => {
    const h = await startHarness(t);
    const prompt = await promptFor(h);
    assert.match(
      prompt.text,
      /^⚠ Approval needed: terminal\nrm -rf build\n\nWhy: .*deletes files recursively/,
    );
    assert.ok(prompt.text.endsWith(`\n\n${CHOICES}`), prompt.text);
    assert.ok(existsSync(join(h.home, 'workspace', 'build')), 'nothing ran before the answer');

    h.socket.receive(inboundMessage({ chat: ALICE_JID, text: ' 1 ' }));
    await waitUntil(() => h.upstream.requests.length === 2, 'second model call');
    await h.gateway.idle();
    assert.ok(!existsSync(join(h.home, 'workspace', 'build')), 'the approved command ran');
    const settled = promptNow(h, ALICE_JID, prompt.id);
    assert.match(settled.text, /rm -rf build\n\nWhy: .*\n\n✅ Approved once$/);
    assert.doesNotMatch(settled.text, /Reply with a number/);
    assert.ok(shown(h.socket, ALICE_JID).some((m) => m.text === 'Cleaned up.'));
    assert.deepEqual(userTurns(h), ['clean the build dir', 'clean the build dir']);
    assert.equal(h.upstream.requests.length, 2, 'the "1" started no run of its own');
  });

  it('in a group ignores a number from someone else, takes the admin’s, and "4" denies', async (t) => {
    const h = await startHarness(t);
    const prompt = await promptFor(h, GROUP, `@${OWNER_PHONE} clean the build dir`);
    h.socket.receive(inboundMessage({ chat: GROUP, participant: BOB_JID, text: '1' }));
    h.socket.receive(inboundMessage({ chat: GROUP, participant: ADMIN_JID, text: '4' }));
    await waitUntil(() => h.upstream.requests.length === 2, 'second model call');
    await h.gateway.idle();
    assert.match(toolResult(h, 1), /the user denied it/);
    assert.ok(existsSync(join(h.home, 'workspace', 'build')), 'Bob’s "1" approved nothing');
    assert.match(promptNow(h, GROUP, prompt.id).text, /⛔ Denied$/);
    assert.ok(shown(h.socket, GROUP).some((m) => m.text === 'Cleaned up.'));
  });

  it('the owner, as an admin, answers from the phone in the chat where the prompt shows', async (t) => {
    const h = await startHarness(t, { admins: [OWNER_PHONE] });
    const prompt = await promptFor(h);
    h.socket.receive(inboundMessage({ chat: ALICE_JID, fromMe: true, text: '2' }));
    await waitUntil(() => h.upstream.requests.length === 2, 'second model call');
    await h.gateway.idle();
    assert.ok(!existsSync(join(h.home, 'workspace', 'build')));
    assert.match(promptNow(h, ALICE_JID, prompt.id).text, /✅ Approved for this conversation$/);
  });

  it('an unanswered prompt times out as a deny and says so; a later "1" is an ordinary message', async (t) => {
    const h = await startHarness(t, {}, { timeout_s: 1 });
    const prompt = await promptFor(h);
    await waitUntil(() => h.upstream.requests.length === 2, 'second model call');
    await h.gateway.idle();
    assert.match(toolResult(h, 1), /nobody approved it within 1 s/);
    assert.match(promptNow(h, ALICE_JID, prompt.id).text, /⏱ No answer in time: denied$/);
    assert.ok(existsSync(join(h.home, 'workspace', 'build')));

    h.upstream.enqueue({ text: 'One what?' });
    h.socket.receive(inboundMessage({ chat: ALICE_JID, text: '1' }));
    await waitUntil(() => h.upstream.requests.length === 3, 'third model call');
    await h.gateway.idle();
    assert.equal(userTurns(h).at(-1), '1');
  });

  it('/stop while waiting cancels the request', async (t) => {
    const h = await startHarness(t);
    const prompt = await promptFor(h);
    h.socket.receive(inboundMessage({ chat: ALICE_JID, text: '/stop' }));
    await waitUntil(() => /⏹ Cancelled$/.test(promptNow(h, ALICE_JID, prompt.id).text), 'cancelled prompt');
    await h.gateway.idle();
    assert.equal(shown(h.socket, ALICE_JID).at(-1)!.text, 'Stopped.');
    assert.equal(h.upstream.requests.length, 1);
    assert.ok(existsSync(join(h.home, 'workspace', 'build')));
  });

  it('with two prompts open, a quoted reply answers its prompt and a plain number the oldest', async (t) => {
    const h = await startHarness(t);
    mkdirSync(join(h.home, 'workspace', 'dist'));
    h.upstream.enqueue(
      {
        toolCalls: [
          { id: 'call_build', name: 'terminal', arguments: { command: 'rm -rf build' } },
          { id: 'call_dist', name: 'terminal', arguments: { command: 'rm -rf dist' } },
        ],
      },
      { text: 'Done.' },
    );
    h.socket.receive(inboundMessage({ chat: ALICE_JID, text: 'clean up' }));
    await waitUntil(() => openPrompts(h.socket, ALICE_JID).length === 2, 'two prompts');
    const [first, second] = openPrompts(h.socket, ALICE_JID);
    const [build, dist] = first!.text.includes('rm -rf build') ? [first!, second!] : [second!, first!];
    h.socket.receive(
      inboundMessage({ chat: ALICE_JID, text: '4', replyTo: { participant: OWNER_JID, id: dist.id } }),
    );
    await waitUntil(() => /⛔ Denied$/.test(promptNow(h, ALICE_JID, dist.id).text), 'quoted prompt denied');
    assert.equal(openPrompts(h.socket, ALICE_JID).length, 1, 'the other prompt still waits');
    h.socket.receive(inboundMessage({ chat: ALICE_JID, text: 'yes' }));
    await waitUntil(() => h.upstream.requests.length === 2, 'second model call');
    await h.gateway.idle();
    assert.match(promptNow(h, ALICE_JID, build.id).text, /✅ Approved once$/);
    assert.ok(!existsSync(join(h.home, 'workspace', 'build')));
    assert.ok(existsSync(join(h.home, 'workspace', 'dist')));
  });
});

describe('WhatsApp pairing', { timeout: 30_000 }, () => {
  it('gives a stranger a code and nothing else, stays silent on repeats, and admits them once approved', async (t) => {
    const h = await startHarness(t, { dm_policy: 'pairing', admins: [] });
    h.socket.receive(inboundMessage({ chat: STRANGER_JID, text: 'hello?', pushName: 'Eve' }));
    await waitUntil(() => shown(h.socket, STRANGER_JID).length === 1, 'pairing code');
    const code = /^Your pairing code: ([A-Z0-9]{6})\n/.exec(shown(h.socket, STRANGER_JID)[0]!.text)![1]!;
    h.socket.receive(inboundMessage({ chat: STRANGER_JID, text: 'please answer' }));
    h.socket.receive(inboundMessage({ chat: STRANGER_JID, text: '1' }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await h.gateway.idle();
    assert.equal(shown(h.socket, STRANGER_JID).length, 1, 'no second reply');
    assert.equal(h.upstream.requests.length, 0, 'no agent run for a stranger');

    const output = new PassThrough();
    let listed = '';
    output.on('data', (chunk) => {
      listed += String(chunk);
    });
    await runPairing(h.config, { action: 'list', output });
    assert.match(listed, new RegExp(`^${code}  whatsapp  ${STRANGER} \\(@Eve\\)  expires in 60 min\\n$`));
    await runPairing(h.config, { action: 'approve', code, output });
    assert.match(listed, /Paired whatsapp user 4410000000099/);

    h.upstream.enqueue({ text: 'Hi, nice to meet you.' });
    h.socket.receive(inboundMessage({ chat: STRANGER_JID, text: 'hello again' }));
    await waitUntil(() => h.upstream.requests.length === 1, 'agent run');
    await h.gateway.idle();
    assert.equal(shown(h.socket, STRANGER_JID).at(-1)!.text, 'Hi, nice to meet you.');
  });

  it('offers the code to the admins with numbered choices; the admin’s "1" lets the stranger in', async (t) => {
    const h = await startHarness(t, { dm_policy: 'pairing' });
    h.socket.receive(inboundMessage({ chat: STRANGER_JID, text: 'hello?', pushName: 'Eve' }));
    await waitUntil(() => shown(h.socket, ADMIN_JID).length === 1, 'offer to the admin');
    const [pending] = await h.pairing.pending();
    const offer = shown(h.socket, ADMIN_JID)[0]!;
    assert.equal(
      offer.text,
      `🔑 whatsapp user ${STRANGER} (@Eve) asks to talk to me (pairing code ${pending!.code}).\n\n` +
        'Reply with a number:\n1 – let in\n2 – refuse',
    );
    assert.equal(await h.pairing.isPaired('whatsapp', STRANGER), false);
    h.socket.receive(inboundMessage({ chat: ADMIN_JID, text: '1' }));
    await waitUntil(() => /✅ Let in$/.test(promptNow(h, ADMIN_JID, offer.id).text), 'settled offer');
    assert.equal(await h.pairing.isPaired('whatsapp', STRANGER), true);
    await h.gateway.idle();
    assert.equal(h.upstream.requests.length, 0, 'the admin’s "1" was no prompt to the agent');
  });
});
