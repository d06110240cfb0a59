/**
 * End to end through the gateway: the real GatewayRunner, Agent, model client and SQLite session store,
 * the WhatsApp adapter on a fake Baileys socket (Baileys' own event emitter and message building), and
 * the scripted upstream model.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig, heraldPaths } from '../src/config/index.ts';
import { GatewayRunner } from '../src/gateway/index.ts';
import { WhatsAppPlatform } from '../src/gateway/platforms/whatsapp/index.ts';
import { silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { openDatabase, SqliteSessionStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import {
  FakeWhatsApp,
  inboundMessage,
  OWNER_JID,
  OWNER_PHONE,
  writeLinkedCreds,
} from './support/fake-whatsapp.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const ALICE = '4917600000002';
const ALICE_JID = `${ALICE}@s.whatsapp.net`;
const GROUP = '120363000000000001@g.us';
const PREFIX = '⚕ *Herald*\n';
const tempDirs: string[] = [];

after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function startHarness(t: { after: (fn: () => Promise<void>) => void }, whatsapp: object = {}) {
  const home = mkdtempSync(join(tmpdir(), 'herald-gw-wa-'));
  tempDirs.push(home);
  const upstream = await ScriptedUpstream.start();
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, api_key: 'test', model: 'test-model', max_retries: 0 },
      agent: { workspace: join(home, 'workspace') },
      platforms: {
        whatsapp: {
          allowed_users: [`+${ALICE.slice(0, 2)} ${ALICE.slice(2)}`, OWNER_PHONE],
          streaming: { edit_interval_ms: 30 },
          ...whatsapp,
        },
      },
    }),
    home,
  };
  const authDir = heraldPaths(home).whatsappAuth;
  writeLinkedCreds(authDir);
  const logger = silentLogger();
  const db = openDatabase(join(home, 'herald.db'));
  const agent = new Agent({
    model: createModelClient(config.model, { logger }),
    tools: createToolRegistry(config),
    config,
    logger,
  });
  const fake = new FakeWhatsApp();
  const whatsappPlatform = new WhatsAppPlatform({
    config: config.platforms.whatsapp,
    authDir,
    logger,
    createSocket: fake.createSocket,
  });
  const gateway = new GatewayRunner({
    config,
    agent,
    sessions: new SqliteSessionStore(db),
    platforms: [whatsappPlatform],
    logger,
  });
  const starting = gateway.start();
  const socket = await fake.socket(1);
  socket.open();
  await starting;
  t.after(async () => {
    await gateway.stop();
    db.close();
    await upstream.close();
  });
  /** Waits until `jid` shows a message whose text satisfies `match`. */
  const waitForText = async (jid: string, match: (text: string) => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!socket.chat(jid).some((m) => match(m.text))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { upstream, gateway, socket, waitForText };
}

/** A reply of about `chars` characters in paragraphs, so it splits at paragraph boundaries. */
function longAnswer(chars: number): string {
  const paragraph = `${'The quick brown fox jumps over the lazy dog. '.repeat(20).trim()}\n\n`;
  return paragraph.repeat(Math.ceil(chars / paragraph.length)).trim();
}

describe('GatewayRunner with WhatsApp', () => {
  it('streams a reply by editing one prefixed message, with typing presence, ending with exactly the answer', async (t) => {
    const { upstream, gateway, socket } = await startHarness(t);
    const answer = 'Here is a **short** answer that streams in several pieces, with `code` too.';
    upstream.enqueue({ text: answer, chunkDelayMs: 15 });
    socket.receive(inboundMessage({ chat: ALICE_JID, text: 'hi' }));
    await upstream.waitForRequests(1);
    await gateway.idle();
    const chat = socket.chat(ALICE_JID);
    assert.equal(chat.length, 1);
    assert.equal(
      chat[0]!.text,
      `${PREFIX}Here is a *short* answer that streams in several pieces, with \`code\` too.`,
    );
    assert.ok(chat[0]!.edits >= 1, 'the message was edited as it grew');
    assert.ok(socket.calls.some((c) => c.method === 'sendPresenceUpdate' && c.arg === 'composing'));
    assert.equal(upstream.requests.length, 1);
  });

  it('sends the rest as a new message when WhatsApp refuses an edit', async (t) => {
    const { upstream, gateway, socket } = await startHarness(t);
    const answer = `${'Streaming text that keeps on growing. '.repeat(12)}The end.`;
    upstream.enqueue({ text: answer, chunkDelayMs: 5 });
    socket.refuseEdits(1);
    socket.receive(inboundMessage({ chat: ALICE_JID, text: 'hi' }));
    await upstream.waitForRequests(1);
    await gateway.idle();
    const texts = socket.chat(ALICE_JID).map((m) => m.text);
    assert.equal(texts.length, 2);
    assert.ok(texts[0]!.endsWith(' ▌'), 'the first message keeps what it showed');
    const joined = texts[0]!.slice(PREFIX.length, -2) + texts[1]!.slice(PREFIX.length);
    assert.equal(joined.replace(/\s+/g, ' '), answer);
  });

  it('splits a long reply at 4,000 characters on paragraph boundaries, each message prefixed', async (t) => {
    const { upstream, gateway, socket } = await startHarness(t, { streaming: { enabled: false } });
    const answer = longAnswer(9000);
    upstream.enqueue({ text: answer });
    socket.receive(inboundMessage({ chat: ALICE_JID, text: 'tell me a long story' }));
    await upstream.waitForRequests(1);
    await gateway.idle();
    const texts = socket.chat(ALICE_JID).map((m) => m.text);
    assert.equal(texts.length, 3);
    for (const text of texts) {
      assert.ok(text.length <= 4000, `${text.length} characters`);
      assert.ok(text.startsWith(PREFIX));
    }
    assert.equal(texts.map((text) => text.slice(PREFIX.length)).join(''), answer);
  });

  it('refuses a number not on the allow-list without running the agent', async (t) => {
    const { upstream, socket, waitForText } = await startHarness(t);
    const stranger = '4410000000099@s.whatsapp.net';
    socket.receive(inboundMessage({ chat: stranger, text: 'let me in' }));
    await waitForText(stranger, (text) => text.includes('allow-list'), 'refusal');
    assert.match(socket.chat(stranger)[0]!.text, /user id is 4410000000099/);
    assert.equal(upstream.requests.length, 0);
  });

  it('in a group answers only when mentioned, without the mention', async (t) => {
    const { upstream, gateway, waitForText, socket } = await startHarness(t);
    upstream.enqueue({ text: 'Group answer.' });
    socket.receive(inboundMessage({ chat: GROUP, participant: ALICE_JID, text: 'chatting among ourselves' }));
    socket.receive(
      inboundMessage({
        chat: GROUP,
        participant: ALICE_JID,
        text: `@${OWNER_PHONE} hello`,
        mentions: [OWNER_JID],
      }),
    );
    await waitForText(GROUP, (text) => text === `${PREFIX}Group answer.`, 'group answer');
    await gateway.idle();
    assert.equal(upstream.requests.length, 1);
    assert.deepEqual(upstream.requests[0]!.body.messages.at(-1), { role: 'user', content: 'hello' });
  });

  it('self-chat: answers the owner in their own chat and never its own reply', async (t) => {
    const { upstream, gateway, waitForText, socket } = await startHarness(t, { self_chat: true });
    upstream.enqueue({ text: 'Noted.' }, { text: 'should never be asked' });
    socket.receive(inboundMessage({ chat: OWNER_JID, fromMe: true, text: 'remember milk' }));
    await waitForText(OWNER_JID, (text) => text === `${PREFIX}Noted.`, 'self-chat answer');
    await gateway.idle();
    // The phone shows the reply in the self chat too; it comes back as the owner's own message.
    for (const message of socket.sent) socket.receive(message);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await gateway.idle();
    assert.equal(upstream.requests.length, 1);
  });

  it('/status and /new work as on the other platforms', async (t) => {
    const { upstream, gateway, waitForText, socket } = await startHarness(t);
    upstream.enqueue({ text: 'First answer.' }, { text: 'Second answer.' });
    socket.receive(inboundMessage({ chat: ALICE_JID, text: 'one' }));
    await waitForText(ALICE_JID, (text) => text.endsWith('First answer.'), 'first answer');
    await gateway.idle();
    socket.receive(inboundMessage({ chat: ALICE_JID, text: '/status' }));
    await waitForText(ALICE_JID, (text) => text.includes('Conversation: 2 messages'), 'status');
    socket.receive(inboundMessage({ chat: ALICE_JID, text: '/new' }));
    await waitForText(ALICE_JID, (text) => text.endsWith('Started a new conversation.'), 'new');
    socket.receive(inboundMessage({ chat: ALICE_JID, text: 'two' }));
    await waitForText(ALICE_JID, (text) => text.endsWith('Second answer.'), 'second answer');
    await gateway.idle();
    const sent = upstream.requests[1]!.body.messages.filter((m: { role: string }) => m.role !== 'system');
    assert.deepEqual(sent, [{ role: 'user', content: 'two' }]);
  });
});
