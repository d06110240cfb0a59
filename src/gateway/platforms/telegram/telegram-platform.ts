/**
 * Telegram as a Herald chat platform, through grammY: receives text messages by long polling (or a
 * webhook), normalises them into `InboundMessage`s (private chat, @mention, reply to the bot, commands
 * addressed to this bot) and offers the send/edit/delete/typing primitives the StreamConsumer drives.
 * Text is sent as Telegram HTML rendered from Markdown, retried as plain text when Telegram rejects
 * the entities. In private chats replies can stream as `sendMessageDraft` drafts, finished with
 * `sendMessage`. It decides per message whether to thread it under the user's message
 * (`reply_to_mode`). Approval prompts carry an inline keyboard whose presses arrive as callback queries
 * and are answered with a short toast. It does not decide who may talk to the agent or run it: the gateway does.
 */
import { createServer, type Server } from 'node:http';
import { Bot, webhookCallback } from 'grammy';
import type { Message, UserFromGetMe } from 'grammy/types';
import type { Logger } from '../../../logger.ts';
import { splitMessage } from '../../streaming/index.ts';
import {
  type ApprovalAnswer,
  type ApprovalAnswerResult,
  type ChatPlatform,
  type InboundMessage,
  isApprovalDecision,
  type NativeStream,
  type PlatformLimits,
  type ReplyTarget,
  type SendOptions,
  type SentMessage,
} from '../../types.ts';
import { isEntityParseError, isNotModifiedError, toPlatformError } from './telegram-errors.ts';
import { renderTelegramHtml, telegramLength } from './telegram-html.ts';

export type ReplyToMode = 'off' | 'first' | 'all';

export interface TelegramPlatformOptions {
  token: string;
  /** Bot API root, e.g. a self-hosted Bot API server or a test fake; no trailing slash. */
  apiRoot?: string;
  replyToMode: ReplyToMode;
  /** Stream private-chat replies as `sendMessageDraft` drafts. */
  nativeDrafts: boolean;
  /** Webhook mode instead of long polling. */
  webhook?: { url: string; port: number; secret?: string; host?: string };
  logger: Logger;
  /** Skips `getMe` at start (tests, or a caller that already knows the bot). */
  botInfo?: UserFromGetMe;
  /** Long-poll timeout of `getUpdates` in seconds (default 30). */
  pollingTimeoutSeconds?: number;
}

export const telegramLimits: PlatformLimits = {
  maxMessageLength: 4096,
  countLength: telegramLength,
  defaultEditIntervalMs: 1000,
  // Telegram advises ~20 message edits per minute per group; faster edits there meet 429 flood control.
  defaultGroupEditIntervalMs: 3000,
};

export class TelegramPlatform implements ChatPlatform {
  readonly name = 'telegram' as const;
  readonly limits = telegramLimits;
  readonly #bot: Bot;
  readonly #options: TelegramPlatformOptions;
  /** Webhook mode: each replica serves the updates Telegram posts to it; polling needs one poller. */
  readonly everyReplica: boolean;
  readonly #logger: Logger;
  #handler: ((message: InboundMessage) => void) | undefined;
  #approvalHandler: ((answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>) | undefined;
  #webhookServer: Server | undefined;
  #polling: Promise<void> | undefined;
  /** Cancels a start still waiting on grammY, which retries getMe on network errors without end. */
  #starting: AbortController | undefined;
  #nextDraftId = 1 + Math.floor(Math.random() * 1_000_000);

  constructor(options: TelegramPlatformOptions) {
    this.#options = options;
    this.everyReplica = options.webhook !== undefined;
    this.#logger = options.logger.child({ platform: 'telegram' });
    this.#bot = new Bot(options.token, {
      client: options.apiRoot ? { apiRoot: options.apiRoot.replace(/\/+$/, '') } : {},
      ...(options.botInfo ? { botInfo: options.botInfo } : {}),
    });
    this.#bot.on('message:text', (ctx) => this.#receive(ctx.message));
    this.#bot.on('callback_query:data', async (ctx) => {
      const answer = parseApprovalData(ctx.callbackQuery.data);
      const result =
        answer && this.#approvalHandler
          ? await this.#approvalHandler({ ...answer, userId: String(ctx.from.id) })
          : { accepted: false, notice: 'This button is no longer active.' };
      await ctx.answerCallbackQuery({ text: result.notice });
    });
    this.#bot.catch((error) => this.#logger.error({ event: 'telegram_update_failed', err: error.error }));
  }

  onMessage(handler: (message: InboundMessage) => void): void {
    this.#handler = handler;
  }

  onApprovalAnswer(handler: (answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>): void {
    this.#approvalHandler = handler;
  }

  /** Plain text (commands are full of characters HTML would need escaped) with an inline keyboard. */
  async sendApprovalPrompt(
    target: ReplyTarget,
    text: string,
    requestId: string,
    kind: 'tool' | 'pairing',
  ): Promise<SentMessage> {
    const button = (label: string, decision: ApprovalAnswer['decision']) => ({
      text: label,
      callback_data: `${approvalDataPrefix}${requestId}:${decision}`,
    });
    try {
      const sent = await this.#bot.api.sendMessage(Number(target.chatId), text, {
        ...this.#threadOptions(target),
        reply_markup: {
          inline_keyboard:
            kind === 'pairing'
              ? [[button('Let in', 'once'), button('Refuse', 'deny')]]
              : [
                  [button('Approve once', 'once'), button('This conversation', 'session')],
                  [button('Always', 'always'), button('Deny', 'deny')],
                ],
        },
      });
      return { id: String(sent.message_id) };
    } catch (error) {
      throw toPlatformError(error);
    }
  }

  async start(): Promise<void> {
    // init() calls getMe (unless botInfo was given): a bad token fails start(); an unreachable API is
    // retried by grammY with backoff until it answers or stop() aborts the wait.
    this.#starting = new AbortController();
    try {
      // grammY types its signal with the abort-controller polyfill; Node's AbortSignal is what it gets.
      await this.#bot.init(this.#starting.signal as Parameters<Bot['init']>[0]);
    } finally {
      this.#starting = undefined;
    }
    const webhook = this.#options.webhook;
    if (webhook) {
      await this.#startWebhook(webhook);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      let started = false;
      this.#polling = this.#bot
        .start({
          timeout: this.#options.pollingTimeoutSeconds ?? 30,
          allowed_updates: ['message', 'callback_query'],
          onStart: () => {
            started = true;
            this.#logger.info(
              { event: 'telegram_polling', bot: this.#bot.botInfo.username },
              'telegram polling',
            );
            resolve();
          },
        })
        .catch((error: unknown) => {
          if (!started) reject(error);
          else
            this.#logger.error({ event: 'telegram_polling_failed', err: error }, 'telegram polling stopped');
        });
    });
  }

  async #startWebhook(webhook: NonNullable<TelegramPlatformOptions['webhook']>): Promise<void> {
    const callback = webhookCallback(this.#bot, 'http', {
      ...(webhook.secret ? { secretToken: webhook.secret } : {}),
    });
    const server = createServer((req, res) => {
      void callback(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(webhook.port, webhook.host ?? '0.0.0.0', () => resolve());
    });
    this.#webhookServer = server;
    await this.#bot.api.setWebhook(webhook.url, {
      allowed_updates: ['message', 'callback_query'],
      ...(webhook.secret ? { secret_token: webhook.secret } : {}),
    });
    this.#logger.info({ event: 'telegram_webhook', port: webhook.port }, 'telegram webhook listening');
  }

  async stop(): Promise<void> {
    this.#starting?.abort();
    if (this.#bot.isRunning()) await this.#bot.stop();
    await this.#polling;
    this.#polling = undefined;
    const server = this.#webhookServer;
    this.#webhookServer = undefined;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections from Telegram's side would otherwise hold close() open.
      server.closeIdleConnections();
      await closed;
    }
  }

  /** Normalises one text message and hands it to the gateway. Never blocks the update loop. */
  #receive(message: Message.TextMessage): void {
    if (!this.#handler || !message.from || message.from.is_bot) return;
    const me = this.#bot.botInfo;
    const username = me.username.toLowerCase();
    let text = message.text;
    let addressed = message.chat.type === 'private';
    for (const entity of message.entities ?? []) {
      const value = text.slice(entity.offset, entity.offset + entity.length).toLowerCase();
      if (entity.type === 'mention' && value === `@${username}`) addressed = true;
      if (entity.type === 'bot_command' && entity.offset === 0) {
        const [, target] = value.split('@');
        if (target === username) addressed = true;
        // A command meant for another bot in the group is not ours.
        else if (target !== undefined) return;
      }
    }
    if (message.reply_to_message?.from?.id === me.id) addressed = true;
    text = text.replace(new RegExp(`@${escapeRegExp(me.username)}\\b`, 'gi'), '').trim();
    this.#handler({
      platform: 'telegram',
      chatId: String(message.chat.id),
      ...(message.is_topic_message && message.message_thread_id !== undefined
        ? { threadId: String(message.message_thread_id) }
        : {}),
      userId: String(message.from.id),
      ...(message.from.username ? { userName: message.from.username } : {}),
      messageId: String(message.message_id),
      text,
      isPrivate: message.chat.type === 'private',
      addressedToBot: addressed,
    });
  }

  #threadOptions(target: ReplyTarget): { message_thread_id?: number } {
    return target.threadId ? { message_thread_id: Number(target.threadId) } : {};
  }

  #threads(options: SendOptions | undefined): boolean {
    const mode = this.#options.replyToMode;
    return mode === 'all' || (mode === 'first' && options?.replyToInbound === true);
  }

  /** Runs a Bot API call with HTML, retrying as plain text if Telegram rejects the entities. */
  async #withFormatting<T>(text: string, call: (body: string, formatted: boolean) => Promise<T>): Promise<T> {
    try {
      return await call(renderTelegramHtml(text), true);
    } catch (error) {
      if (!isEntityParseError(error)) throw toPlatformError(error);
      this.#logger.debug({ event: 'telegram_plain_retry' }, 'entities rejected; retrying as plain text');
      try {
        return await call(text, false);
      } catch (plainError) {
        throw toPlatformError(plainError);
      }
    }
  }

  async send(target: ReplyTarget, text: string, options?: SendOptions): Promise<SentMessage> {
    const reply = this.#threads(options)
      ? {
          reply_parameters: {
            message_id: Number(target.inboundMessageId),
            allow_sending_without_reply: true,
          },
        }
      : {};
    const sent = await this.#withFormatting(text, (body, formatted) =>
      this.#bot.api.sendMessage(Number(target.chatId), body, {
        ...(formatted ? { parse_mode: 'HTML' as const } : {}),
        ...this.#threadOptions(target),
        ...reply,
      }),
    );
    return { id: String(sent.message_id) };
  }

  async edit(target: ReplyTarget, message: SentMessage, text: string): Promise<void> {
    try {
      await this.#withFormatting(text, (body, formatted) =>
        this.#bot.api.editMessageText(Number(target.chatId), Number(message.id), body, {
          ...(formatted ? { parse_mode: 'HTML' as const } : {}),
        }),
      );
    } catch (error) {
      // Same text after formatting (e.g. only a Markdown marker changed): nothing to do.
      if (isNotModifiedError(error)) return;
      throw error;
    }
  }

  async delete(target: ReplyTarget, message: SentMessage): Promise<void> {
    try {
      await this.#bot.api.deleteMessage(Number(target.chatId), Number(message.id));
    } catch (error) {
      this.#logger.debug({ event: 'telegram_delete_failed', err: error }, 'delete failed');
    }
  }

  async sendTyping(target: ReplyTarget): Promise<void> {
    try {
      await this.#bot.api.sendChatAction(Number(target.chatId), 'typing', this.#threadOptions(target));
    } catch (error) {
      this.#logger.debug({ event: 'telegram_typing_failed', err: error }, 'typing failed');
    }
  }

  /** Private chats stream as `sendMessageDraft` drafts when enabled; finished with real messages. */
  openNativeStream(target: ReplyTarget): NativeStream | undefined {
    if (!this.#options.nativeDrafts || !target.isPrivate) return undefined;
    const draftId = this.#nextDraftId++;
    const chatId = Number(target.chatId);
    // Chunks already delivered by finish(), so a retry after flood control does not repeat them.
    let delivered = 0;
    return {
      update: async (text) => {
        await this.#withFormatting(text, (body, formatted) =>
          this.#bot.api.sendMessageDraft(chatId, draftId, body, {
            ...(formatted ? { parse_mode: 'HTML' as const } : {}),
            ...this.#threadOptions(target),
          }),
        );
      },
      finish: async (text) => {
        const chunks = splitMessage(text, {
          maxLength: telegramLimits.maxMessageLength,
          countLength: telegramLength,
        });
        for (; delivered < chunks.length; delivered++) {
          await this.send(target, chunks[delivered]!, { replyToInbound: delivered === 0 });
        }
      },
      // The draft disappears by itself; nothing permanent was sent.
      cancel: async () => {},
    };
  }
}

/** Callback data of approval buttons: `apr:<request id>:<decision>` (Telegram allows 64 bytes). */
const approvalDataPrefix = 'apr:';

function parseApprovalData(data: string): Omit<ApprovalAnswer, 'userId'> | undefined {
  if (!data.startsWith(approvalDataPrefix)) return undefined;
  const [requestId, decision] = data.slice(approvalDataPrefix.length).split(':');
  if (!requestId || !decision || !isApprovalDecision(decision)) return undefined;
  return { requestId, decision };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
