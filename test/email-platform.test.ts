/**
 * The email door end to end: a real Dovecot (IMAP IDLE) and a real SMTP server on loopback, the real
 * EmailPlatform (imapflow + nodemailer), GatewayRunner, Agent and SQLite session store, and the
 * scripted upstream model. Mail is delivered by APPENDing it over IMAP, which pushes EXISTS to the
 * adapter's IDLE connection exactly as a delivery agent would.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImapFlow } from 'imapflow';
import { Agent } from '../src/agent/index.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { GatewayRunner } from '../src/gateway/index.ts';
import { createImapClient, EmailPlatform } from '../src/gateway/platforms/email/index.ts';
import { header } from '../src/gateway/platforms/email/mail-headers.ts';
import { silentLogger } from '../src/logger.ts';
import { createModelClient } from '../src/model/index.ts';
import { openDatabase, SqliteSessionStore } from '../src/store/index.ts';
import { createToolRegistry } from '../src/tools/index.ts';
import { DovecotServer, dovecotSkipReason } from './support/dovecot-server.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';
import { SmtpSink } from './support/smtp-sink.ts';

const skip = dovecotSkipReason();
const users = ['bot1', 'bot2', 'bot3', 'bot4', 'bot5', 'bot6', 'bot7'].map((u) => `${u}@herald.test`);
const ann = 'ann@example.test';
let dovecot: DovecotServer;
let smtp: SmtpSink;
const tempDirs: string[] = [];

before(async () => {
  if (skip) return;
  dovecot = await DovecotServer.start(users);
  smtp = await SmtpSink.start();
});
after(async () => {
  await dovecot?.close();
  await smtp?.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

interface Mail {
  from?: string;
  subject?: string;
  id: string;
  inReplyTo?: string;
  references?: string;
  headers?: string[];
  body?: string;
  /** A full MIME body instead of a text one (with its Content-Type header). */
  mime?: { contentType: string; body: string };
}

function rawMail(to: string, mail: Mail): string {
  const lines = [
    `From: Ann <${mail.from ?? ann}>`,
    `To: ${to}`,
    `Subject: ${mail.subject ?? 'Question'}`,
    `Message-ID: ${mail.id}`,
    'Date: Fri, 04 Dec 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    ...(mail.inReplyTo ? [`In-Reply-To: ${mail.inReplyTo}`] : []),
    ...(mail.references ? [`References: ${mail.references}`] : []),
    ...(mail.headers ?? []),
    `Content-Type: ${mail.mime?.contentType ?? 'text/plain; charset=utf-8'}`,
    '',
    mail.mime?.body ?? mail.body ?? 'Hello',
  ];
  return `${lines.join('\r\n')}\r\n`;
}

function imapClient(user: string): ImapFlow {
  return createImapClient({
    host: '127.0.0.1',
    port: dovecot.port,
    user,
    password: dovecot.password,
    tls: false,
  });
}

async function deliver(user: string, ...mails: Mail[]): Promise<void> {
  const client = imapClient(user);
  await client.connect();
  for (const mail of mails) await client.append('INBOX', rawMail(user, mail));
  await client.logout();
}

async function unseen(user: string): Promise<number> {
  const client = imapClient(user);
  await client.connect();
  await client.mailboxOpen('INBOX');
  const uids = (await client.search({ seen: false })) || [];
  await client.logout();
  return uids.length;
}

async function startHerald(
  t: { after: (fn: () => Promise<void>) => void },
  user: string,
  options: { allowed?: string[]; home?: string; upstream?: ScriptedUpstream } = {},
) {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'herald-email-'));
  if (!options.home) tempDirs.push(home);
  const upstream = options.upstream ?? (await ScriptedUpstream.start());
  const config: HeraldConfig = {
    ...configSchema.parse({
      model: { base_url: upstream.url, api_key: 'test', model: 'test-model', max_retries: 0 },
      agent: { workspace: join(home, 'workspace') },
      platforms: {
        email: {
          address: user,
          imap: { host: '127.0.0.1', port: dovecot.port, user, password: dovecot.password, tls: false },
          smtp: { host: '127.0.0.1', port: smtp.port, tls: false },
          allowed_senders: options.allowed ?? [ann],
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
  const email = new EmailPlatform({
    config: config.platforms.email,
    logger,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  const gateway = new GatewayRunner({ config, agent, sessions, platforms: [email], logger });
  await gateway.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await gateway.stop();
    db.close();
    if (!options.upstream) await upstream.close();
  };
  t.after(stop);
  return { upstream, gateway, sessions, stop, home };
}

/** The text of the last user message of an upstream request. */
function lastUserText(body: { messages: { role: string; content: unknown }[] }): string {
  const users = body.messages.filter((m) => m.role === 'user');
  return String(users[users.length - 1]?.content);
}

describe('EmailPlatform with Dovecot and SMTP', { skip }, () => {
  it('answers a mail in its thread, and a reply in the thread continues the same conversation', async (t) => {
    const { upstream } = await startHerald(t, users[0]!);
    upstream.enqueue({ text: 'Monday works.' }, { text: 'Friday works too.' });
    await deliver(users[0]!, { id: '<q1@example.test>', subject: 'Meeting', body: 'When can we meet?' });
    const first = await smtp.mails.next();
    assert.equal(first.from, users[0]);
    assert.deepEqual(first.to, [ann]);
    assert.equal(header(first.headers, 'subject'), 'Re: Meeting');
    assert.equal(header(first.headers, 'in-reply-to'), '<q1@example.test>');
    assert.equal(header(first.headers, 'references'), '<q1@example.test>');
    assert.equal(header(first.headers, 'auto-submitted'), 'auto-replied');
    assert.match(header(first.headers, 'from') ?? '', new RegExp(users[0]!));
    assert.equal(first.body.trim(), 'Monday works.');
    assert.equal(lastUserText(upstream.requests[0]!.body), 'Subject: Meeting\n\nWhen can we meet?');

    const ourId = header(first.headers, 'message-id')!;
    await deliver(users[0]!, {
      id: '<q2@example.test>',
      subject: 'Re: Meeting',
      inReplyTo: ourId,
      references: `<q1@example.test> ${ourId}`,
      body: `And Friday?\r\n\r\nOn Fri, 4 Dec 2026, Herald <${users[0]}> wrote:\r\n> Monday works.`,
    });
    const second = await smtp.mails.next();
    assert.equal(header(second.headers, 'subject'), 'Re: Meeting');
    assert.equal(header(second.headers, 'in-reply-to'), '<q2@example.test>');
    assert.equal(header(second.headers, 'references'), `<q1@example.test> ${ourId} <q2@example.test>`);
    assert.equal(second.body.trim(), 'Friday works too.');
    // One conversation: the second run saw the first turn, and the quote was cut from the new text.
    const messages = upstream.requests[1]!.body.messages as { role: string; content: string }[];
    assert.deepEqual(
      messages.filter((m) => m.role !== 'system').map((m) => [m.role, m.content]),
      [
        ['user', 'Subject: Meeting\n\nWhen can we meet?'],
        ['assistant', 'Monday works.'],
        ['user', 'And Friday?'],
      ],
    );
  });

  it('never answers its own address, auto-replies, lists or bounces, and answers the next real mail', async (t) => {
    const { upstream } = await startHerald(t, users[1]!);
    upstream.enqueue({ text: 'Real answer.' });
    await deliver(
      users[1]!,
      { id: '<own@x>', from: users[1]! },
      { id: '<as@x>', headers: ['Auto-Submitted: auto-replied'] },
      { id: '<xa@x>', headers: ['X-Autoreply: yes'] },
      { id: '<pb@x>', headers: ['Precedence: bulk'] },
      { id: '<pl@x>', headers: ['Precedence: list'] },
      { id: '<pj@x>', headers: ['Precedence: junk'] },
      { id: '<li@x>', headers: ['List-Id: <team.lists.example.test>'] },
      { id: '<lu@x>', headers: ['List-Unsubscribe: <mailto:leave@example.test>'] },
      { id: '<md@x>', from: 'MAILER-DAEMON@example.test' },
      { id: '<ok@x>', headers: ['Auto-Submitted: no'], body: 'A real question' },
    );
    const reply = await smtp.mails.next();
    assert.equal(header(reply.headers, 'in-reply-to'), '<ok@x>');
    assert.equal(upstream.requests.length, 1);
    assert.equal(lastUserText(upstream.requests[0]!.body), 'Subject: Question\n\nA real question');
    assert.equal(await unseen(users[1]!), 0, 'ignored mail is flagged \\Seen too');
  });

  it('answers allowed senders and @domains only, and sends strangers nothing', async (t) => {
    const { upstream, gateway } = await startHerald(t, users[2]!, { allowed: ['@trusted.test'] });
    upstream.enqueue({ text: 'Hello colleague.' });
    await deliver(
      users[2]!,
      { id: '<s1@x>', from: 'eve@evil.test' },
      { id: '<s2@x>', from: 'bob@trusted.test' },
    );
    const reply = await smtp.mails.next();
    assert.deepEqual(reply.to, ['bob@trusted.test']);
    await gateway.idle();
    assert.equal(upstream.requests.length, 1);
  });

  it('reads the HTML part when there is no text part and lists attachments without their content', async (t) => {
    const { upstream } = await startHerald(t, users[3]!);
    upstream.enqueue({ text: 'Noted.' });
    const boundary = 'b1';
    await deliver(users[3]!, {
      id: '<att@x>',
      subject: 'Report',
      mime: {
        contentType: `multipart/mixed; boundary="${boundary}"`,
        body: [
          `--${boundary}`,
          'Content-Type: text/html; charset=utf-8',
          '',
          '<p>Please <b>check</b> the report.</p><blockquote>old</blockquote>',
          `--${boundary}`,
          'Content-Type: application/pdf; name="report.pdf"',
          'Content-Disposition: attachment; filename="report.pdf"',
          'Content-Transfer-Encoding: base64',
          '',
          Buffer.alloc(3000, 7).toString('base64'),
          `--${boundary}--`,
        ].join('\r\n'),
      },
    });
    await smtp.mails.next();
    const text = lastUserText(upstream.requests[0]!.body);
    assert.match(text, /Please CHECK the report\.|Please check the report\./);
    assert.match(text, /report\.pdf \(application\/pdf, 3 KB\)/);
    assert.doesNotMatch(text, /BwcH/, 'attachment content is not passed on');
  });

  it('reconnects after the IMAP server drops the connection and answers mail that arrived meanwhile', async (t) => {
    const { upstream } = await startHerald(t, users[4]!);
    upstream.enqueue({ text: 'Back again.' });
    await dovecot.stop();
    await dovecot.restart();
    await deliver(users[4]!, { id: '<after-drop@x>' });
    const reply = await smtp.mails.next();
    assert.equal(header(reply.headers, 'in-reply-to'), '<after-drop@x>');
  });

  it('does not answer a mail twice across a restart', async (t) => {
    const upstream = await ScriptedUpstream.start();
    t.after(() => upstream.close());
    const home = mkdtempSync(join(tmpdir(), 'herald-email-'));
    tempDirs.push(home);
    upstream.enqueue({ text: 'Once.' }, { text: 'Second mail.' });
    const first = await startHerald(t, users[5]!, { home, upstream });
    await deliver(users[5]!, { id: '<once@x>' });
    await smtp.mails.next();
    await first.stop();
    await startHerald(t, users[5]!, { home, upstream });
    await deliver(users[5]!, { id: '<twice@x>' });
    const reply = await smtp.mails.next();
    assert.equal(header(reply.headers, 'in-reply-to'), '<twice@x>');
    assert.equal(upstream.requests.length, 2);
  });

  it('/new in a thread starts that thread afresh', async (t) => {
    const { sessions } = await startHerald(t, users[6]!);
    await deliver(users[6]!, { id: '<n1@x>', body: '/new' });
    const reply = await smtp.mails.next();
    assert.equal(reply.body.trim(), 'Started a new conversation.');
    assert.equal(await sessions.count('email:ann@example.test:<n1@x>'), 0);
  });
});
