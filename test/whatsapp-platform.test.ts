/**
 * The WhatsApp adapter against a fake Baileys socket (Baileys' own event emitter and message building):
 * reply prefixes, echo suppression in self-chat, group addressing, edits and their refusal, the edit
 * window, typing presence, and the connection lifecycle (logout → relink message, other closes →
 * reconnect with backoff).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DisconnectReason } from 'baileys';
import {
  type ApprovalAnswer,
  EditFailedError,
  type InboundMessage,
  ManualClock,
  type ReplyTarget,
} from '../src/gateway/index.ts';
import { WhatsAppError, WhatsAppPlatform } from '../src/gateway/platforms/whatsapp/index.ts';
import { createLogger, silentLogger } from '../src/logger.ts';
import {
  FakeWhatsApp,
  inboundMessage,
  OWNER_JID,
  OWNER_LID,
  OWNER_PHONE,
  writeLinkedCreds,
} from './support/fake-whatsapp.ts';
import { Inbox } from './support/inbox.ts';

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const ALICE = '4917600000002';
const ALICE_JID = `${ALICE}@s.whatsapp.net`;
const GROUP = '120363000000000001@g.us';

interface Setup {
  reply_prefix?: string;
  self_chat?: boolean;
  clock?: ManualClock;
  logger?: ReturnType<typeof silentLogger>;
  linked?: boolean;
}

async function connected(t: { after: (fn: () => Promise<void>) => void }, setup: Setup = {}) {
  const authDir = join(mkdtempSync(join(tmpdir(), 'herald-wa-')), 'whatsapp');
  tempDirs.push(join(authDir, '..'));
  if (setup.linked !== false) writeLinkedCreds(authDir);
  const fake = new FakeWhatsApp();
  const platform = new WhatsAppPlatform({
    config: {
      self_chat: setup.self_chat ?? false,
      ...(setup.reply_prefix !== undefined ? { reply_prefix: setup.reply_prefix } : {}),
    },
    authDir,
    logger: setup.logger ?? silentLogger(),
    createSocket: fake.createSocket,
    ...(setup.clock ? { clock: setup.clock } : {}),
    reconnect: { initialDelayMs: 1000, maxDelayMs: 8000 },
  });
  const inbox = new Inbox<InboundMessage>();
  platform.onMessage(inbox.push);
  t.after(() => platform.stop());
  return { platform, fake, inbox, authDir };
}

async function started(t: { after: (fn: () => Promise<void>) => void }, setup: Setup = {}) {
  const harness = await connected(t, setup);
  const starting = harness.platform.start();
  const socket = await harness.fake.socket(1);
  socket.open();
  await starting;
  return { ...harness, socket };
}

function target(chatId: string, isPrivate = true, inboundMessageId = 'IN'): ReplyTarget {
  return { chatId, inboundMessageId, userId: ALICE, isPrivate };
}

/** Polls `predicate` (file-system work no fake signals), failing after a generous hang guard. */
async function waitUntil(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Lets Baileys' next-tick `append` upserts and the handlers they reach run. */
const ticks = () => new Promise((resolve) => setImmediate(resolve));

describe('WhatsApp reply prefix', () => {
  for (const [name, configured, expected] of [
    ['unset: the default header', undefined, '⚕ *Herald*\n'],
    ["'': no header", '', ''],
    ['custom with \\n escapes: real newlines', '🤖 Assistant\\n\\n', '🤖 Assistant\n\n'],
  ] as const) {
    it(`${name} goes before every message, edits included`, async (t) => {
      const { platform, socket } = await started(t, { reply_prefix: configured });
      const sent = await platform.send(target(ALICE_JID), 'Hello **there**');
      await platform.edit(target(ALICE_JID), sent, 'Hello **there**, friend');
      assert.deepEqual(socket.chat(ALICE_JID), [
        { id: sent.id, text: `${expected}Hello *there*, friend`, edits: 1 },
      ]);
      assert.equal(platform.limits.countLength('ab'), expected.length + 2);
    });
  }
});

describe('WhatsApp self-chat', () => {
  for (const [name, configured] of [
    ['default prefix', undefined],
    ['empty prefix', ''],
    ['custom prefix', 'Bot:\\n'],
  ] as const) {
    it(`with the ${name}, answers the owner and never its own messages`, async (t) => {
      const { platform, socket, inbox } = await started(t, { self_chat: true, reply_prefix: configured });
      socket.receive(inboundMessage({ chat: OWNER_JID, fromMe: true, text: 'what time is it?', id: 'OWN1' }));
      const inbound = await inbox.next();
      assert.deepEqual(
        { chatId: inbound.chatId, userId: inbound.userId, text: inbound.text, isPrivate: inbound.isPrivate },
        { chatId: OWNER_JID, userId: OWNER_PHONE, text: 'what time is it?', isPrivate: true },
      );
      const sent = await platform.send(target(OWNER_JID), 'It is noon.');
      await platform.edit(target(OWNER_JID), sent, 'It is noon, UTC.');
      // Every message Herald sent comes back: as Baileys' own `append` upserts, and even as `notify`.
      for (const message of socket.sent) socket.receive(message, 'notify');
      await ticks();
      // A copy of a reply with an id Herald never used (e.g. re-sent from another device).
      const replyText = socket.chat(OWNER_JID)[0]!.text;
      socket.receive(inboundMessage({ chat: OWNER_JID, fromMe: true, text: replyText, id: 'COPY1' }));
      // Addressed by LID, as newer phones do: the same chat.
      socket.receive(inboundMessage({ chat: OWNER_LID, fromMe: true, text: 'and tomorrow?', id: 'OWN2' }));
      const next = await inbox.next();
      if (configured === '') {
        // Without a prefix only ids tell Herald's messages apart: an unknown id is the owner's.
        assert.equal(next.text, 'It is noon, UTC.');
        assert.equal((await inbox.next()).text, 'and tomorrow?');
      } else {
        assert.equal(next.text, 'and tomorrow?');
        assert.equal(next.chatId, OWNER_JID);
      }
    });
  }

  it('ignores what the owner writes elsewhere, and the self chat when self_chat is off', async (t) => {
    const on = await started(t, { self_chat: true });
    on.socket.receive(inboundMessage({ chat: ALICE_JID, fromMe: true, text: 'hi Alice' }));
    on.socket.receive(inboundMessage({ chat: GROUP, fromMe: true, text: 'hi all' }));
    on.socket.receive(inboundMessage({ chat: ALICE_JID, text: 'from alice' }));
    assert.equal((await on.inbox.next()).text, 'from alice');

    const off = await started(t, { self_chat: false });
    off.socket.receive(inboundMessage({ chat: OWNER_JID, fromMe: true, text: 'note to self' }));
    off.socket.receive(inboundMessage({ chat: ALICE_JID, text: 'from alice' }));
    assert.equal((await off.inbox.next()).text, 'from alice');
  });
});

describe('WhatsApp inbound', () => {
  it('maps a direct message to the sender number, private and addressed', async (t) => {
    const { socket, inbox } = await started(t);
    socket.receive(inboundMessage({ chat: ALICE_JID, text: '  hello  ', pushName: 'Alice', id: 'A1' }));
    assert.deepEqual(await inbox.next(), {
      platform: 'whatsapp',
      chatId: ALICE_JID,
      userId: ALICE,
      userName: 'Alice',
      messageId: 'A1',
      text: 'hello',
      isPrivate: true,
      addressedToBot: true,
    });
  });

  it('in groups, is addressed only by a mention (number or LID) or a reply to its own message', async (t) => {
    const { socket, inbox } = await started(t);
    const from = { chat: GROUP, participant: ALICE_JID };
    socket.receive(inboundMessage({ ...from, text: 'just chatting' }));
    socket.receive(inboundMessage({ ...from, text: `@${OWNER_PHONE} what is 2+2?`, mentions: [OWNER_JID] }));
    socket.receive(inboundMessage({ ...from, text: '@123456789012345 and 3+3?', mentions: [OWNER_LID] }));
    socket.receive(
      inboundMessage({ ...from, text: 'and 4+4?', replyTo: { participant: OWNER_JID, id: 'X' } }),
    );
    socket.receive(
      inboundMessage({ ...from, text: 'not you', replyTo: { participant: ALICE_JID, id: 'Y' } }),
    );
    const got = [];
    for (let i = 0; i < 5; i++) got.push(await inbox.next());
    assert.deepEqual(
      got.map((m) => [m.text, m.addressedToBot, m.isPrivate, m.userId, m.chatId]),
      [
        ['just chatting', false, false, ALICE, GROUP],
        ['what is 2+2?', true, false, ALICE, GROUP],
        ['and 3+3?', true, false, ALICE, GROUP],
        ['and 4+4?', true, false, ALICE, GROUP],
        ['not you', false, false, ALICE, GROUP],
      ],
    );
  });

  it('quotes the question when answering in a group, not in a direct chat', async (t) => {
    const { platform, socket, inbox } = await started(t);
    socket.receive(
      inboundMessage({
        chat: GROUP,
        participant: ALICE_JID,
        text: `@${OWNER_PHONE} hi`,
        mentions: [OWNER_JID],
        id: 'G1',
      }),
    );
    await inbox.next();
    await platform.send(target(GROUP, false, 'G1'), 'Hi!', { replyToInbound: true });
    await platform.send(target(ALICE_JID, true, 'D1'), 'Hi!', { replyToInbound: true });
    const [group, direct] = socket.sent;
    assert.equal(group!.message?.extendedTextMessage?.contextInfo?.stanzaId, 'G1');
    assert.equal(direct!.message?.extendedTextMessage?.contextInfo?.stanzaId ?? undefined, undefined);
  });

  it('ignores history (append) upserts and status broadcasts', async (t) => {
    const { socket, inbox } = await started(t);
    socket.receive(inboundMessage({ chat: ALICE_JID, text: 'old' }), 'append');
    socket.receive(inboundMessage({ chat: 'status@broadcast', participant: ALICE_JID, text: 'my status' }));
    socket.receive(inboundMessage({ chat: ALICE_JID, text: 'new' }));
    assert.equal((await inbox.next()).text, 'new');
  });
});

describe('WhatsApp send and edit', () => {
  it('a refused edit becomes EditFailedError; so does an edit past the 15-minute window, without a call', async (t) => {
    const clock = new ManualClock();
    const { platform, socket } = await started(t, { clock });
    const sent = await platform.send(target(ALICE_JID), 'one');
    socket.refuseEdits(1);
    await assert.rejects(platform.edit(target(ALICE_JID), sent, 'two'), EditFailedError);
    await platform.edit(target(ALICE_JID), sent, 'three');
    await clock.advance(15 * 60 * 1000);
    const calls = socket.editCalls().length;
    await assert.rejects(platform.edit(target(ALICE_JID), sent, 'four'), EditFailedError);
    assert.equal(socket.editCalls().length, calls, 'no edit was sent past the window');
    assert.equal(socket.chat(ALICE_JID)[0]!.text, '⚕ *Herald*\nthree');
  });

  it('shows typing as composing presence, and never fetches link previews', async (t) => {
    const { platform, socket } = await started(t);
    await platform.sendTyping(target(ALICE_JID));
    await platform.send(target(ALICE_JID), 'see https://internal.example/');
    assert.deepEqual(
      socket.calls.filter((c) => c.method === 'sendPresenceUpdate').map((c) => [c.arg, c.jid]),
      [['composing', ALICE_JID]],
    );
    const send = socket.calls.find((c) => c.method === 'sendMessage')!;
    assert.equal((send.content as { linkPreview?: unknown }).linkPreview, null);
  });

  it('deletes a message it sent', async (t) => {
    const { platform, socket } = await started(t);
    const sent = await platform.send(target(ALICE_JID), '⚙ terminal: ls');
    await platform.delete(target(ALICE_JID), sent);
    assert.deepEqual(socket.chat(ALICE_JID), []);
  });
});

describe('WhatsApp approval prompts', () => {
  /** Records every answer offered to the gateway and accepts only those by `accept`. */
  function answering(platform: WhatsAppPlatform, accept: string) {
    const answers: ApprovalAnswer[] = [];
    platform.onApprovalAnswer(async (answer) => {
      answers.push(answer);
      return { accepted: answer.userId === accept, notice: '' };
    });
    return answers;
  }

  it('addresses an offer to a bare number by its jid; a reply there answers, others pass on as messages', async (t) => {
    const { platform, socket, inbox } = await started(t);
    const answers = answering(platform, ALICE);
    const prompt = await platform.sendApprovalPrompt(
      { chatId: ALICE, userId: ALICE, inboundMessageId: '', isPrivate: true },
      'Let Eve in?',
      'pair_ABC234',
      'pairing',
    );
    assert.equal(
      socket.chat(ALICE_JID)[0]!.text,
      '⚕ *Herald*\nLet Eve in?\n\nReply with a number:\n1 – let in\n2 – refuse',
    );
    socket.receive(inboundMessage({ chat: ALICE_JID, text: '3' }));
    socket.receive(inboundMessage({ chat: ALICE_JID, text: ' No ' }));
    assert.equal((await inbox.next()).text, '3', 'not a choice of this prompt: an ordinary message');
    await waitUntil(() => answers.length === 1, 'the answer');
    assert.deepEqual(answers, [{ requestId: 'pair_ABC234', decision: 'deny', userId: ALICE }]);

    await platform.closeApprovalPrompt(
      { chatId: ALICE, userId: ALICE, inboundMessageId: '', isPrivate: true },
      prompt,
      'Let Eve in?\n\n⛔ Refused',
    );
    assert.equal(socket.chat(ALICE_JID)[0]!.text, '⚕ *Herald*\nLet Eve in?\n\n⛔ Refused');
    socket.receive(inboundMessage({ chat: ALICE_JID, text: '1' }));
    assert.equal((await inbox.next()).text, '1', 'a closed prompt takes no answers');
    assert.equal(answers.length, 1);
  });

  it('passes a number the gateway refused on as an ordinary message', async (t) => {
    const { platform, socket, inbox } = await started(t);
    const answers = answering(platform, 'nobody');
    await platform.sendApprovalPrompt(target(ALICE_JID), 'Run it?', 'apr_1', 'tool');
    socket.receive(inboundMessage({ chat: ALICE_JID, text: '1' }));
    assert.equal((await inbox.next()).text, '1');
    assert.deepEqual(answers, [{ requestId: 'apr_1', decision: 'once', userId: ALICE }]);
  });

  it('the owner answers in their own chat from the phone even with self_chat off', async (t) => {
    const { platform, socket, inbox } = await started(t);
    const answers = answering(platform, OWNER_PHONE);
    await platform.sendApprovalPrompt(
      { chatId: OWNER_PHONE, userId: OWNER_PHONE, inboundMessageId: '', isPrivate: true },
      'Let Eve in?',
      'pair_ABC234',
      'pairing',
    );
    for (const message of socket.sent) socket.receive(message);
    socket.receive(inboundMessage({ chat: OWNER_LID, fromMe: true, text: '1' }));
    await waitUntil(() => answers.length === 1, 'the answer');
    assert.deepEqual(answers, [{ requestId: 'pair_ABC234', decision: 'once', userId: OWNER_PHONE }]);
    socket.receive(inboundMessage({ chat: ALICE_JID, text: 'after' }));
    assert.equal((await inbox.next()).text, 'after', 'the echo and the answer reached no one');
  });

  it('past the 15-minute edit window the outcome arrives as a new message', async (t) => {
    const clock = new ManualClock();
    const { platform, socket } = await started(t, { clock });
    const prompt = await platform.sendApprovalPrompt(target(ALICE_JID), 'Run it?', 'apr_1', 'tool');
    await clock.advance(15 * 60 * 1000 + 1);
    await platform.closeApprovalPrompt(target(ALICE_JID), prompt, 'Run it?\n\n⏱ No answer in time: denied');
    assert.deepEqual(
      socket.chat(ALICE_JID).map((m) => m.text.slice('⚕ *Herald*\n'.length)),
      [
        `Run it?\n\nReply with a number:\n1 – approve once\n2 – approve for this conversation\n3 – always approve\n4 – deny`,
        'Run it?\n\n⏱ No answer in time: denied',
      ],
    );
  });
});

describe('WhatsApp connection', () => {
  it('refuses to start when no device is linked, saying how to link', async (t) => {
    const { platform, fake } = await connected(t, { linked: false });
    await assert.rejects(platform.start(), (error: unknown) => {
      assert.ok(error instanceof WhatsAppError);
      assert.equal(error.code, 'whatsapp_not_linked');
      assert.match(error.message, /herald whatsapp link/);
      return true;
    });
    assert.equal(fake.sockets.length, 0);
  });

  it('a logout while starting fails start with the relink message and deletes the dead auth state', async (t) => {
    const { platform, fake, authDir } = await connected(t);
    const starting = platform.start();
    (await fake.socket(1)).close(DisconnectReason.loggedOut);
    await assert.rejects(starting, (error: unknown) => {
      assert.ok(error instanceof WhatsAppError);
      assert.equal(error.code, 'whatsapp_logged_out');
      assert.match(error.message, /logged this device out.*herald whatsapp link/);
      return true;
    });
    await ticks();
    assert.equal(existsSync(authDir), false);
  });

  it('a logout while running logs the relink message and does not reconnect', async (t) => {
    const lines: string[] = [];
    const clock = new ManualClock();
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const { socket, fake } = await started(t, { clock, logger });
    socket.close(DisconnectReason.loggedOut);
    const stoppedLine = () => lines.map((l) => JSON.parse(l)).find((l) => l.event === 'whatsapp.stopped');
    await waitUntil(() => stoppedLine() !== undefined, 'the stopped log line');
    assert.match(stoppedLine().msg, /logged this device out.*herald whatsapp link/);
    await clock.advance(60_000);
    assert.equal(fake.sockets.length, 1);
  });

  it('reconnects with exponential backoff after other closes, at once after restartRequired', async (t) => {
    const clock = new ManualClock();
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const { platform, socket, fake } = await started(t, { clock, logger });
    socket.close(DisconnectReason.connectionLost);
    await clock.advance(999);
    assert.equal(clock.pending, 1, 'the reconnect waits for the first delay');
    await clock.advance(1);
    const second = await fake.socket(2);
    second.close(DisconnectReason.connectionClosed);
    await clock.advance(1999);
    assert.equal(clock.pending, 1, 'the second delay is doubled');
    await clock.advance(1);
    const third = await fake.socket(3);
    third.open();
    // Open resets the backoff; restartRequired reconnects without waiting.
    third.close(DisconnectReason.restartRequired);
    await clock.advance(0);
    const fourth = await fake.socket(4);
    fourth.open();
    await platform.send(target(ALICE_JID), 'back');
    assert.equal(fourth.chat(ALICE_JID)[0]!.text, '⚕ *Herald*\nback');
    fourth.close(DisconnectReason.timedOut);
    await clock.advance(1000);
    await fake.socket(5);
    const delays = lines
      .map((line) => JSON.parse(line) as { event: string; delayMs: number })
      .filter((line) => line.event === 'whatsapp.reconnecting')
      .map((line) => line.delayMs);
    assert.deepEqual(delays, [1000, 2000, 0, 1000]);
  });

  it('sending while reconnecting fails instead of queueing', async (t) => {
    const clock = new ManualClock();
    const { platform, socket } = await started(t, { clock });
    socket.close(DisconnectReason.connectionLost);
    await assert.rejects(platform.send(target(ALICE_JID), 'x'), /not connected/);
  });
});
