/**
 * WhatsApp as a Herald chat platform, in-process through Baileys as a linked device of the operator's
 * WhatsApp account. It connects with the auth state `herald whatsapp link` saved, reconnects with
 * exponential backoff when the connection drops (at once after WhatsApp's routine "restart required"),
 * and stops for good — saying how to relink — when WhatsApp logged the device out. Inbound messages are
 * normalised by whatsapp-inbound.ts; replies carry the reply prefix and WhatsApp formatting, stream as
 * one message edited in place (`sendMessage(jid, { text, edit: key })`) while WhatsApp's edit window is
 * open, and show "typing…" (`composing` presence) while the agent works. The id of every message it
 * sends is recorded before sending, so its own messages coming back are never taken for the owner's.
 * Link previews are off: Baileys would fetch every URL the agent writes from this host. WhatsApp has
 * no buttons for a linked device, so approval prompts end in numbered choices: a reply in the prompt's
 * chat that is one of the numbers (numbered-prompts.ts) is offered to the gateway as the answer
 * to the quoted prompt, else to the oldest open one the sender may answer, and is not passed on as a
 * message once accepted. It does not split, pace or retry replies (the StreamConsumer does), nor decide
 * who may talk to the agent or answer a prompt.
 */
import {
  DisconnectReason,
  generateMessageIDV2,
  type MessageUpsertType,
  type WAMessage,
  type WAMessageKey,
} from 'baileys';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import { NumberedPrompts } from '../../numbered-prompts.ts';
import type { PromptKind } from '../../numbered-reply.ts';
import { type Clock, systemClock, type TimerHandle } from '../../streaming/index.ts';
import {
  type ApprovalAnswer,
  type ApprovalAnswerResult,
  type ChatPlatform,
  EditFailedError,
  type InboundMessage,
  type PlatformLimits,
  type ReplyTarget,
  type SendOptions,
  type SentMessage,
} from '../../types.ts';
import { linkedNumber, prepareAuthDir, removeAuthState } from './whatsapp-auth.ts';
import { closeError, disconnectCode, notLinkedError, WhatsAppError } from './whatsapp-errors.ts';
import { toWhatsAppText } from './whatsapp-format.ts';
import {
  accountOf,
  type InboundContext,
  toInboundMessage,
  toPromptReply,
  type WhatsAppAccount,
} from './whatsapp-inbound.ts';
import { WHATSAPP_EDIT_WINDOW_MS, whatsappLimits } from './whatsapp-limits.ts';
import { resolveReplyPrefix } from './whatsapp-reply-prefix.ts';
import {
  type ConnectionUpdate,
  type CreateWhatsAppSocket,
  createBaileysSocket,
  type WhatsAppSocket,
} from './whatsapp-socket.ts';

export interface WhatsAppPlatformOptions {
  config: Pick<HeraldConfig['platforms']['whatsapp'], 'self_chat' | 'reply_prefix'>;
  /** HERALD_HOME/whatsapp. */
  authDir: string;
  logger: Logger;
  /** Builds the Baileys socket; tests pass a fake. Default: the real `makeWASocket`. */
  createSocket?: CreateWhatsAppSocket;
  /** Time source of the edit window and the reconnect backoff. */
  clock?: Clock;
  /** Reconnect backoff: first delay, doubled per failed attempt up to the max. */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
}

interface SentRecord {
  key: WAMessageKey;
  at: number;
}

/** Sent ids kept for edits and echo suppression; far more than one reply can produce. */
const MAX_SENT = 2000;
/** Recent group messages kept so replies can quote the question they answer. */
const MAX_QUOTABLE = 200;

export class WhatsAppPlatform implements ChatPlatform {
  readonly name = 'whatsapp' as const;
  readonly limits: PlatformLimits;
  readonly #options: WhatsAppPlatformOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #prefix: string;
  readonly #createSocket: CreateWhatsAppSocket;
  #handler: ((message: InboundMessage) => void) | undefined;
  #socket: WhatsAppSocket | undefined;
  #account: WhatsAppAccount | undefined;
  #running = false;
  /** Settles the pending `start()`: at the first open, or on a close that reconnecting cannot fix. */
  #starting: PromiseWithResolvers<void> | undefined;
  #attempt = 0;
  #reconnectTimer: TimerHandle | undefined;
  readonly #sent = new Map<string, SentRecord>();
  readonly #quotable = new Map<string, WAMessage>();
  readonly #prompts = new NumberedPrompts();

  constructor(options: WhatsAppPlatformOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ platform: 'whatsapp' });
    this.#clock = options.clock ?? systemClock;
    this.#prefix = resolveReplyPrefix(options.config.reply_prefix);
    this.#createSocket = options.createSocket ?? createBaileysSocket;
    this.limits = whatsappLimits(this.#prefix);
  }

  onMessage(handler: (message: InboundMessage) => void): void {
    this.#handler = handler;
  }

  onApprovalAnswer(handler: (answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>): void {
    this.#prompts.onAnswer(handler);
  }

  /**
   * The prompt with its numbered choices. A pairing offer is addressed by the admin's number, which
   * becomes their chat's jid.
   */
  async sendApprovalPrompt(
    target: ReplyTarget,
    text: string,
    requestId: string,
    kind: PromptKind,
  ): Promise<SentMessage> {
    const to = withJid(target);
    return this.#prompts.send({ requestId, chatId: to.chatId, kind }, text, (body) =>
      this.send(to, body, { replyToInbound: true }),
    );
  }

  /** Shows the outcome in place of the choices; past WhatsApp's edit window, as a new message. */
  async closeApprovalPrompt(target: ReplyTarget, prompt: SentMessage, text: string): Promise<void> {
    this.#prompts.close(prompt.id);
    const to = withJid(target);
    try {
      await this.edit(to, prompt, text);
    } catch (error) {
      if (!(error instanceof EditFailedError)) throw error;
      await this.send(to, text);
    }
  }

  /** Resolves once WhatsApp accepted the linked session; rejects when it is not linked or logged out. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#attempt = 0;
    const starting = Promise.withResolvers<void>();
    this.#starting = starting;
    try {
      await this.#connect();
    } catch (error) {
      this.#fail(error);
    }
    return starting.promise;
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#reconnectTimer !== undefined) this.#clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    this.#account = undefined;
    socket?.end(undefined);
    this.#starting?.reject(new Error('WhatsApp platform stopped while connecting'));
    this.#starting = undefined;
  }

  async send(target: ReplyTarget, text: string, options?: SendOptions): Promise<SentMessage> {
    const socket = this.#connectedSocket();
    const id = this.#newId(socket, target.chatId);
    // Quoting the question helps in a group, where several people talk; in a direct chat it is noise.
    const quoted =
      options?.replyToInbound && !target.isPrivate ? this.#quotable.get(target.inboundMessageId) : undefined;
    await socket.sendMessage(
      target.chatId,
      { text: this.#render(text), linkPreview: null },
      { messageId: id, ...(quoted ? { quoted } : {}) },
    );
    return { id };
  }

  async edit(target: ReplyTarget, message: SentMessage, text: string): Promise<void> {
    const sent = this.#sent.get(message.id);
    if (!sent) throw new EditFailedError('WhatsApp message to edit is unknown (sent before a restart?)');
    if (this.#clock.now() - sent.at > WHATSAPP_EDIT_WINDOW_MS) {
      throw new EditFailedError('WhatsApp only lets a message be edited for about 15 minutes');
    }
    const socket = this.#connectedSocket();
    const id = this.#newId(socket, target.chatId);
    try {
      await socket.sendMessage(
        target.chatId,
        { text: this.#render(text), edit: sent.key, linkPreview: null },
        { messageId: id },
      );
    } catch (error) {
      // WhatsApp gives no reason an edit can be retried for: the rest of the reply goes as new messages.
      throw new EditFailedError(`WhatsApp refused the edit: ${String(error)}`, { cause: error });
    }
  }

  async delete(target: ReplyTarget, message: SentMessage): Promise<void> {
    const sent = this.#sent.get(message.id);
    if (!sent) return;
    const socket = this.#connectedSocket();
    await socket.sendMessage(
      target.chatId,
      { delete: sent.key },
      { messageId: this.#newId(socket, target.chatId) },
    );
  }

  /** "typing…" under the chat name; WhatsApp clears it by itself after a few seconds or a message. */
  async sendTyping(target: ReplyTarget): Promise<void> {
    try {
      await this.#connectedSocket().sendPresenceUpdate('composing', target.chatId);
    } catch (error) {
      this.#logger.debug({ event: 'whatsapp.typing_failed', err: error });
    }
  }

  #render(text: string): string {
    return this.#prefix + toWhatsAppText(text);
  }

  /** A fresh message id, recorded before the message exists so its echo can never beat the record. */
  #newId(socket: WhatsAppSocket, chatId: string): string {
    const id = generateMessageIDV2(socket.user?.id);
    this.#sent.set(id, { key: { remoteJid: chatId, fromMe: true, id }, at: this.#clock.now() });
    if (this.#sent.size > MAX_SENT) this.#sent.delete(this.#sent.keys().next().value!);
    return id;
  }

  #connectedSocket(): WhatsAppSocket {
    if (!this.#socket || !this.#account) {
      throw new WhatsAppError('whatsapp_not_connected', 'WhatsApp is not connected (reconnecting)');
    }
    return this.#socket;
  }

  async #connect(): Promise<void> {
    const { authDir } = this.#options;
    if (!(await linkedNumber(authDir))) throw notLinkedError();
    await prepareAuthDir(authDir);
    const socket = await this.#createSocket({ authDir, logger: this.#logger });
    if (!this.#running) {
      socket.end(undefined);
      return;
    }
    this.#socket = socket;
    socket.ev.on('connection.update', (update) => this.#onConnectionUpdate(socket, update));
    socket.ev.on('messages.upsert', ({ messages, type }) => this.#onMessages(messages, type));
  }

  #onConnectionUpdate(socket: WhatsAppSocket, update: ConnectionUpdate): void {
    if (socket !== this.#socket) return;
    if (update.qr) {
      // WhatsApp wants a new link: the saved session was not accepted. Linking is the CLI's job.
      socket.end(undefined);
      this.#socket = undefined;
      this.#fail(notLinkedError());
      return;
    }
    if (update.connection === 'open' && socket.user) {
      this.#account = accountOf(socket.user);
      this.#attempt = 0;
      this.#logger.info({ event: 'whatsapp.connected', selfChat: this.#options.config.self_chat });
      this.#starting?.resolve();
      this.#starting = undefined;
      return;
    }
    if (update.connection !== 'close') return;
    this.#socket = undefined;
    this.#account = undefined;
    const code = disconnectCode(update);
    const fatal = closeError(code);
    if (fatal) {
      // After a logout the keys are dead; keeping them would only make every start fail the same way.
      const cleanup =
        code === DisconnectReason.loggedOut ? removeAuthState(this.#options.authDir) : Promise.resolve();
      void cleanup
        .catch((error: unknown) => this.#logger.error({ event: 'whatsapp.auth_remove_failed', err: error }))
        .then(() => this.#fail(fatal));
      return;
    }
    this.#scheduleReconnect(code);
  }

  #scheduleReconnect(code: number | undefined): void {
    const { initialDelayMs, maxDelayMs } = this.#options.reconnect ?? {
      initialDelayMs: 2000,
      maxDelayMs: 120_000,
    };
    // "Restart required" is WhatsApp's routine request (e.g. right after linking), not a failure.
    const delayMs =
      code === DisconnectReason.restartRequired
        ? 0
        : Math.min(initialDelayMs * 2 ** this.#attempt, maxDelayMs);
    this.#attempt++;
    this.#logger.warn({ event: 'whatsapp.reconnecting', code, delayMs, attempt: this.#attempt });
    this.#reconnectTimer = this.#clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#running) return;
      this.#connect().catch((error: unknown) => {
        if (error instanceof WhatsAppError) this.#fail(error);
        else {
          this.#logger.error({ event: 'whatsapp.reconnect_failed', err: error });
          this.#scheduleReconnect(undefined);
        }
      });
    }, delayMs);
  }

  /** A failure reconnecting cannot fix: fail a pending start (the gateway retries it), else say so. */
  #fail(error: unknown): void {
    this.#running = false;
    if (this.#starting) {
      this.#starting.reject(error);
      this.#starting = undefined;
      return;
    }
    this.#logger.error({ event: 'whatsapp.stopped', err: error }, String((error as Error).message ?? error));
  }

  #onMessages(messages: WAMessage[], type: MessageUpsertType): void {
    // `append` is history and this socket's own sends; only `notify` is something just written.
    if (type !== 'notify' || !this.#account || !this.#handler) return;
    const context: InboundContext = {
      account: this.#account,
      selfChat: this.#options.config.self_chat,
      prefix: this.#prefix,
      sentByHerald: (id) => this.#sent.has(id),
    };
    for (const message of messages) {
      const reply = toPromptReply(message, context);
      const deliver = () => this.#deliver(message, context);
      if (!reply) deliver();
      else
        this.#prompts.route(reply, deliver, (error) =>
          this.#logger.error({ event: 'whatsapp.approval_answer_failed', err: error }),
        );
    }
  }

  #deliver(message: WAMessage, context: InboundContext): void {
    const inbound = toInboundMessage(message, context);
    if (!inbound || !this.#handler) return;
    if (!inbound.isPrivate) {
      this.#quotable.set(inbound.messageId, message);
      if (this.#quotable.size > MAX_QUOTABLE) this.#quotable.delete(this.#quotable.keys().next().value!);
    }
    try {
      this.#handler(inbound);
    } catch (error) {
      this.#logger.error({ event: 'whatsapp.handler_failed', err: error });
    }
  }
}

/** A target addressed by a bare phone number (an admin's DM) gets that number's chat jid. */
function withJid(target: ReplyTarget): ReplyTarget {
  return target.chatId.includes('@') ? target : { ...target, chatId: `${target.chatId}@s.whatsapp.net` };
}
