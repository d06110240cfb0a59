/**
 * The email adapter: one mailbox watched over IMAP IDLE (imapflow), replies sent over SMTP
 * (nodemailer). A mail thread is a conversation: its key is the thread's root Message-ID, found from
 * References / In-Reply-To (and, for clients that send only In-Reply-To, from the ids of the bot's own
 * replies). The agent gets the new text only (quoted history trimmed, HTML turned into text, the
 * subject on the first mail, attachments listed by name/type/size but never read). Mail from machines
 * (own address, auto-replies, lists, bounces) is never answered, and unknown senders get no refusal
 * (see `silentRefusals`). Each processed mail is flagged \Seen before the agent runs, so a restart
 * does not answer it twice (at most once: a crash mid-reply leaves that mail unanswered). A dropped
 * IMAP connection is re-opened with backoff and the unseen mail is scanned again. Replies are sent
 * once, complete (`limits.streams` false): mail cannot be edited.
 */
import { randomUUID } from 'node:crypto';
import { convert as htmlToText } from 'html-to-text';
import { ImapFlow } from 'imapflow';
import { createTransport, type Transporter } from 'nodemailer';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import {
  type ChatPlatform,
  EditFailedError,
  type InboundMessage,
  type PlatformLimits,
  type ReplyTarget,
  type SentMessage,
} from '../../types.ts';
import { header, messageIds, parseMailHeaders } from './mail-headers.ts';
import { automatedMailReason } from './mail-loop-guard.ts';
import { describeAttachment, findMailParts } from './mail-parts.ts';
import { trimQuotedHistory } from './quoted-history.ts';

export type EmailConfig = HeraldConfig['platforms']['email'];

export interface EmailPlatformOptions {
  config: EmailConfig;
  logger: Logger;
  /** Reconnect backoff after the IMAP connection drops: first delay, doubled up to the max. */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
}

/** What a reply to one inbound mail needs. */
interface ReplyContext {
  to: string;
  subject: string;
  messageId: string;
  references: string[];
  root: string;
}

/** Thread roots and reply contexts remembered (oldest forgotten first). */
const MEMORY = 5000;
/** References kept on a reply: the root plus the most recent ids (RFC 5322 allows trimming the middle). */
const MAX_REFERENCES = 20;

const emailLimits: PlatformLimits = {
  // One mail holds the whole reply; the splitter still needs a bound.
  maxMessageLength: 1_000_000,
  countLength: (text) => text.length,
  defaultEditIntervalMs: 0,
  streams: false,
};

export class EmailPlatform implements ChatPlatform {
  readonly name = 'email' as const;
  readonly limits = emailLimits;
  readonly silentRefusals = true;
  readonly #options: EmailPlatformOptions;
  readonly #logger: Logger;
  #handler: ((message: InboundMessage) => void) | undefined;
  #imap: ImapFlow | undefined;
  #smtp: Transporter | undefined;
  #stopped = true;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  /** The scan in progress; `#rescan` asks for one more after it (new mail arrived meanwhile). */
  #scanning: Promise<void> | undefined;
  #rescan = false;
  readonly #replies = new Map<string, ReplyContext>();
  /** Message-ID → thread root, for mail that answers one of ours with In-Reply-To only. */
  readonly #roots = new Map<string, string>();

  constructor(options: EmailPlatformOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ platform: 'email' });
  }

  onMessage(handler: (message: InboundMessage) => void): void {
    this.#handler = handler;
  }

  /** Logs in over IMAP, selects the mailbox and answers what is unseen; rejects when login fails. */
  async start(): Promise<void> {
    this.#stopped = false;
    const { smtp } = this.#options.config;
    this.#smtp = createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.tls,
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    });
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const imap = this.#imap;
    this.#imap = undefined;
    await this.#scanning?.catch(() => {});
    if (imap?.usable) await imap.logout().catch(() => imap.close());
    else imap?.close();
    this.#smtp?.close();
    this.#smtp = undefined;
  }

  async #connect(): Promise<void> {
    const { imap: settings, mailbox } = this.#options.config;
    const imap = createImapClient(settings);
    imap.on('error', (error: unknown) => this.#logger.warn({ event: 'email.imap_error', err: error }));
    imap.on('exists', () => this.#scan());
    imap.on('close', () => {
      if (this.#imap !== imap || this.#stopped) return;
      this.#imap = undefined;
      this.#scheduleReconnect();
    });
    await imap.connect();
    await imap.mailboxOpen(mailbox);
    this.#imap = imap;
    this.#failures = 0;
    this.#logger.info({ event: 'email.ready', mailbox });
    this.#scan();
  }

  #scheduleReconnect(): void {
    const { initialDelayMs, maxDelayMs } = this.#options.reconnect ?? {
      initialDelayMs: 1000,
      maxDelayMs: 300_000,
    };
    const delayMs = Math.min(initialDelayMs * 2 ** this.#failures, maxDelayMs);
    this.#failures++;
    this.#logger.warn({ event: 'email.imap_reconnect', delayMs, attempt: this.#failures });
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#stopped) return;
      this.#connect().catch((error: unknown) => {
        this.#logger.warn({ event: 'email.imap_reconnect_failed', err: error });
        if (!this.#stopped && !this.#imap) this.#scheduleReconnect();
      });
    }, delayMs);
  }

  /** Processes unseen mail; calls during a scan make it run once more when done. */
  #scan(): void {
    if (this.#scanning) {
      this.#rescan = true;
      return;
    }
    this.#scanning = (async () => {
      do {
        this.#rescan = false;
        const imap = this.#imap;
        if (!imap || this.#stopped) return;
        try {
          const uids = (await imap.search({ seen: false }, { uid: true })) || [];
          for (const uid of uids) {
            if (this.#stopped || this.#imap !== imap) return;
            await this.#process(imap, uid);
          }
        } catch (error) {
          this.#logger.warn({ event: 'email.scan_failed', err: error });
        }
      } while (this.#rescan);
    })().finally(() => {
      this.#scanning = undefined;
      // imapflow would only enter IDLE after 15 s of quiet; until then new mail would wait for the
      // next command. The next command (a scan) ends this IDLE by itself.
      const imap = this.#imap;
      if (imap && !this.#stopped) imap.idle({ whenFree: true }).catch(() => {});
    });
  }

  async #process(imap: ImapFlow, uid: number): Promise<void> {
    const mail = await imap.fetchOne(
      String(uid),
      { uid: true, envelope: true, bodyStructure: true, headers: true },
      { uid: true },
    );
    if (!mail) return;
    // Flagged first: whatever happens next, a restart must not answer this mail again.
    await imap.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
    const headers = parseMailHeaders(mail.headers?.toString('utf8') ?? '');
    const from = mail.envelope?.from?.[0]?.address?.toLowerCase();
    const messageId = mail.envelope?.messageId ?? header(headers, 'message-id');
    if (!from || !messageId) {
      this.#logger.info({ event: 'email.ignored', uid, reason: 'no-sender-or-id' });
      return;
    }
    const automated = automatedMailReason(headers, from, this.#options.config.address);
    if (automated) {
      this.#logger.info({ event: 'email.ignored', uid, reason: automated });
      return;
    }
    const parts = mail.bodyStructure ? findMailParts(mail.bodyStructure) : { attachments: [] };
    let body = '';
    if (parts.body) {
      const download = await imap.download(String(uid), parts.body.part, { uid: true });
      const raw = 'content' in download && download.content ? await streamText(download.content) : '';
      body = parts.body.html ? htmlToText(raw, { wordwrap: false }) : raw;
    }
    const inReplyTo = messageIds(mail.envelope?.inReplyTo ?? header(headers, 'in-reply-to'));
    const references = messageIds(header(headers, 'references'));
    const root = references[0] ?? this.#roots.get(inReplyTo[0] ?? '') ?? inReplyTo[0] ?? messageId;
    const subject = mail.envelope?.subject ?? '';
    remember(this.#roots, messageId, root);
    remember(this.#replies, messageId, {
      to: from,
      subject,
      messageId,
      references: references.length > 0 ? references : inReplyTo,
      root,
    });
    const text = agentText(
      trimQuotedHistory(body),
      subject,
      root === messageId,
      parts.attachments.map(describeAttachment),
    );
    this.#logger.info({ event: 'email.received', uid, thread: root, attachments: parts.attachments.length });
    this.#handler?.({
      platform: 'email',
      chatId: from,
      threadId: root,
      userId: from,
      userName: mail.envelope?.from?.[0]?.name || from,
      messageId,
      text,
      isPrivate: true,
      addressedToBot: true,
    });
  }

  /** Sends `text` as a reply in the thread of the inbound mail the target names. */
  async send(target: ReplyTarget, text: string): Promise<SentMessage> {
    const smtp = this.#smtp;
    const context = this.#replies.get(target.inboundMessageId);
    if (!smtp || !context) throw new Error('email: no inbound mail to reply to');
    const { address } = this.#options.config;
    const domain = address?.split('@')[1] ?? 'herald.invalid';
    const messageId = `<herald.${randomUUID()}@${domain}>`;
    const references = [...context.references, context.messageId];
    const trimmed =
      references.length > MAX_REFERENCES
        ? [references[0]!, ...references.slice(-(MAX_REFERENCES - 1))]
        : references;
    await smtp.sendMail({
      from: address,
      to: context.to,
      subject: /^re:/i.test(context.subject) ? context.subject : `Re: ${context.subject}`,
      text,
      messageId,
      inReplyTo: context.messageId,
      references: trimmed,
      // RFC 3834: tells other robots not to answer this mail.
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    remember(this.#roots, messageId, context.root);
    return { id: messageId };
  }

  /** Mail cannot be edited; never called, since `limits.streams` is false. */
  async edit(): Promise<void> {
    throw new EditFailedError('email messages cannot be edited');
  }

  async delete(): Promise<void> {}

  async sendTyping(): Promise<void> {}
}

/** An imapflow client for `platforms.email.imap` (not connected yet). */
export function createImapClient(settings: EmailConfig['imap']): ImapFlow {
  return new ImapFlow({
    host: settings.host ?? '',
    port: settings.port,
    secure: settings.tls,
    auth: { user: settings.user ?? '', pass: settings.password ?? '' },
    logger: false,
  });
}

function agentText(body: string, subject: string, first: boolean, attachments: string[]): string {
  const parts: string[] = [];
  // A command stays the whole text so the gateway recognises it.
  if (first && subject && !body.startsWith('/')) parts.push(`Subject: ${subject}`);
  if (body) parts.push(body);
  if (attachments.length > 0) parts.push(`[Attachments (not opened): ${attachments.join('; ')}]`);
  return parts.join('\n\n');
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MEMORY) map.delete(map.keys().next().value!);
}

async function streamText(stream: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
