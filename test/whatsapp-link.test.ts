/**
 * `herald whatsapp link` / `unlink` against the fake Baileys socket: QR and pairing-code linking across
 * WhatsApp's routine restart, the 0700 auth folder, failures, and unlinking; plus the platform factory
 * turning WhatsApp on when linked auth state exists.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { DisconnectReason } from 'baileys';
import { configSchema, heraldPaths } from '../src/config/index.ts';
import { createChatPlatforms } from '../src/gateway/index.ts';
import { linkWhatsApp, unlinkWhatsApp, WhatsAppError } from '../src/gateway/platforms/whatsapp/index.ts';
import { silentLogger } from '../src/logger.ts';
import { FakeWhatsApp, OWNER_PHONE, writeLinkedCreds } from './support/fake-whatsapp.ts';

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-wa-link-'));
  tempDirs.push(dir);
  return dir;
}

function terminal() {
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk) => {
    text += String(chunk);
  });
  return { output, text: () => text };
}

describe('herald whatsapp link', () => {
  it('shows a QR code, follows the restart WhatsApp asks for after the scan, and reports the number', async () => {
    const dir = home();
    const authDir = heraldPaths(dir).whatsappAuth;
    const fake = new FakeWhatsApp();
    const { output, text } = terminal();
    const linking = linkWhatsApp({
      home: dir,
      output,
      createSocket: fake.createSocket,
      logger: silentLogger(),
    });
    const first = await fake.socket(1);
    assert.equal(statSync(authDir).mode & 0o777, 0o700);
    first.qr();
    assert.match(text(), /Linked devices → Link a device/);
    assert.match(text(), /▄|█/, 'a QR code was drawn');
    // Scanned: WhatsApp pairs, Baileys saves the credentials, and the server asks for a restart.
    writeLinkedCreds(authDir);
    first.close(DisconnectReason.restartRequired);
    (await fake.socket(2)).open();
    assert.deepEqual(await linking, { number: OWNER_PHONE, alreadyLinked: false });
    assert.match(text(), new RegExp(`Linked WhatsApp \\+${OWNER_PHONE}.*allowed_users`, 's'));
    assert.ok(
      fake.sockets.every((socket) => socket.ended),
      'every socket was closed',
    );
  });

  it('with --phone asks once for a pairing code and shows it', async () => {
    const dir = home();
    const fake = new FakeWhatsApp();
    const { output, text } = terminal();
    const linking = linkWhatsApp({
      home: dir,
      phone: '+49 151-000 00001',
      output,
      createSocket: fake.createSocket,
      logger: silentLogger(),
    });
    const socket = await fake.socket(1);
    socket.qr('ref-1');
    socket.qr('ref-2');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      socket.calls.filter((c) => c.method === 'requestPairingCode').map((c) => c.arg),
      ['4915100000001'],
    );
    assert.match(text(), /Link with phone number instead.*ABCD-1234/s);
    assert.doesNotMatch(text(), /█/);
    writeLinkedCreds(heraldPaths(dir).whatsappAuth);
    socket.open();
    assert.equal((await linking).number, OWNER_PHONE);
  });

  it('fails with a clear message when nothing was linked in time, leaving no auth state', async () => {
    const dir = home();
    const fake = new FakeWhatsApp();
    const linking = linkWhatsApp({ home: dir, output: terminal().output, createSocket: fake.createSocket });
    (await fake.socket(1)).close(DisconnectReason.timedOut);
    await assert.rejects(linking, (error: unknown) => {
      assert.ok(error instanceof WhatsAppError);
      assert.equal(error.code, 'whatsapp_link_failed');
      assert.match(error.message, /run `herald whatsapp link` again/);
      return true;
    });
    assert.equal(existsSync(heraldPaths(dir).whatsappAuth), false);
  });

  it('rejects a --phone that is not a number', async () => {
    await assert.rejects(
      linkWhatsApp({
        home: home(),
        phone: 'my phone',
        output: terminal().output,
        createSocket: new FakeWhatsApp().createSocket,
      }),
      /country code/,
    );
  });

  it('does nothing when already linked', async () => {
    const dir = home();
    writeLinkedCreds(heraldPaths(dir).whatsappAuth);
    const fake = new FakeWhatsApp();
    const { output, text } = terminal();
    assert.deepEqual(await linkWhatsApp({ home: dir, output, createSocket: fake.createSocket }), {
      number: OWNER_PHONE,
      alreadyLinked: true,
    });
    assert.equal(fake.sockets.length, 0);
    assert.match(text(), /already linked.*herald whatsapp unlink/);
  });
});

describe('herald whatsapp unlink', () => {
  it('logs the device out and deletes the credentials', async () => {
    const dir = home();
    const authDir = heraldPaths(dir).whatsappAuth;
    writeLinkedCreds(authDir);
    const fake = new FakeWhatsApp();
    const { output, text } = terminal();
    const unlinking = unlinkWhatsApp({ home: dir, output, createSocket: fake.createSocket });
    (await fake.socket(1)).open();
    await unlinking;
    assert.ok(fake.sockets[0]!.calls.some((c) => c.method === 'logout'));
    assert.equal(existsSync(authDir), false);
    assert.match(text(), /Unlinked WhatsApp/);
  });

  it('still deletes the local credentials when WhatsApp cannot be reached, saying what to do on the phone', async () => {
    const dir = home();
    writeLinkedCreds(heraldPaths(dir).whatsappAuth);
    const fake = new FakeWhatsApp();
    const { output, text } = terminal();
    await unlinkWhatsApp({ home: dir, output, createSocket: fake.createSocket, timeoutMs: 50 });
    assert.equal(existsSync(heraldPaths(dir).whatsappAuth), false);
    assert.match(text(), /Linked devices on your phone/);
  });
});

describe('WhatsApp in the platform factory', () => {
  it('is on when linked auth state exists, off without it, and off with enabled: false', async () => {
    const logger = silentLogger();
    const dir = home();
    const names = async (whatsapp: object) =>
      (
        await createChatPlatforms({ ...configSchema.parse({ platforms: { whatsapp } }), home: dir }, logger)
      ).map((p) => p.name);
    assert.deepEqual(await names({}), []);
    writeLinkedCreds(heraldPaths(dir).whatsappAuth);
    assert.deepEqual(await names({}), ['whatsapp']);
    assert.deepEqual(await names({ enabled: false }), []);
  });
});
