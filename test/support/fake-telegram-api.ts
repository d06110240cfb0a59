/**
 * A local fake of the Telegram Bot API (node:http on a loopback port) for driving the real grammY
 * client in tests: getMe, deleteWebhook/setWebhook, getUpdates long polling fed by `sendText` /
 * `pushUpdate`, sendMessage (with inline keyboards), editMessageText, deleteMessage, sendChatAction,
 * sendMessageDraft, setMyCommands, and button presses (`pressButton`, answered by answerCallbackQuery). It records every call in order, keeps the bot's messages as a user would see them, and
 * behaves like Telegram where Herald depends on it: "message is not modified", "message is too long",
 * "can't parse entities" on unbalanced HTML, and failures injected with `failNext` (429 with
 * retry_after, "message to edit not found", ...). Several bots may share it through API roots with a
 * path prefix (`apiRoot + '/r1'`): `polls` records which prefix asked for updates when (replicas taking
 * turns at long polling). It is not a full Bot API.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TelegramCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
  /** The API root's path prefix the client used (`r1` for `apiRoot + '/r1'`), if any. */
  via?: string;
}

export interface FakeBotMessage {
  messageId: number;
  chatId: number;
  /** The text as sent (HTML when parseMode is HTML). */
  raw: string;
  parseMode: string | undefined;
  /** What the user sees: tags stripped and entities decoded for HTML. */
  visible: string;
  replyTo: number | undefined;
  threadId: number | undefined;
  edits: number;
  deleted: boolean;
  /** The inline keyboard's buttons, row by row; an edit without one removes it, as Telegram does. */
  buttons: { text: string; callback_data: string }[][] | undefined;
}

export interface InjectedFailure {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number };
}

export interface SendTextOptions {
  chatId: number;
  userId: number;
  text: string;
  chatType?: 'private' | 'group' | 'supergroup';
  userName?: string;
  /** Reply to this (bot) message id. */
  replyToMessageId?: number;
  messageThreadId?: number;
}

interface Waiter {
  offset: number;
  respond: () => void;
}

const allowedTags = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'code',
  'pre',
  'a',
  'span',
  'tg-spoiler',
  'blockquote',
]);

/** Telegram-like HTML check and tag stripping; returns undefined when the markup would be rejected. */
export function visibleFromHtml(html: string): string | undefined {
  const stack: string[] = [];
  for (const match of html.matchAll(/<(\/?)([a-z-]+)[^>]*>/gi)) {
    const tag = match[2]!.toLowerCase();
    if (!allowedTags.has(tag)) return undefined;
    if (match[1]) {
      if (stack.pop() !== tag) return undefined;
    } else stack.push(tag);
  }
  if (stack.length > 0) return undefined;
  if (/<(?![a-z/])/i.test(html) || /&(?!amp;|lt;|gt;|quot;|#\d+;)/.test(html)) return undefined;
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

export class FakeTelegramApi {
  readonly token = '123456:TEST-token';
  readonly botInfo = {
    id: 999,
    is_bot: true as const,
    first_name: 'Herald',
    username: 'herald_test_bot',
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    has_topics_enabled: false,
    allows_users_to_create_topics: false,
  };
  readonly calls: TelegramCall[] = [];
  /** getUpdates calls (kept apart from `calls`, which long polling would flood). */
  readonly polls: Array<{ via: string | undefined; at: number }> = [];
  readonly #server: Server;
  readonly #updates: Array<{ update_id: number } & Record<string, unknown>> = [];
  readonly #waiters = new Set<Waiter>();
  readonly #failures = new Map<string, InjectedFailure[]>();
  readonly #messages: FakeBotMessage[] = [];
  readonly #listeners = new Set<() => void>();
  #nextUpdateId = 1;
  /** Highest update id the client confirmed (by asking getUpdates for a later offset). */
  #confirmedUpdateId = 0;
  #nextMessageId = 1000;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeTelegramApi> {
    const server = createServer();
    const fake = new FakeTelegramApi(server);
    server.on('request', (req, res) => void fake.#handle(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return fake;
  }

  get apiRoot(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    for (const waiter of this.#waiters) waiter.respond();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Calls of one method, in order. */
  callsOf(method: string): TelegramCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** The bot's messages in a chat that the user still sees, oldest first. */
  messages(chatId: number): FakeBotMessage[] {
    return this.#messages.filter((message) => message.chatId === chatId && !message.deleted);
  }

  /** Makes the next `times` calls of `method` fail with `failure`. */
  failNext(method: string, failure: InjectedFailure, times = 1): void {
    const queue = this.#failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(failure);
    this.#failures.set(method, queue);
  }

  pushUpdate(update: Record<string, unknown>): number {
    const updateId = this.#nextUpdateId++;
    this.#updates.push({ update_id: updateId, ...update });
    for (const waiter of [...this.#waiters]) waiter.respond();
    return updateId;
  }

  /** A user presses an inline button of one of the bot's messages; returns the callback query id. */
  pressButton(options: { chatId: number; userId: number; messageId: number; data: string }): string {
    const id = `cbq_${this.#nextUpdateId}`;
    const message = this.#messages.find((m) => m.messageId === options.messageId);
    this.pushUpdate({
      callback_query: {
        id,
        from: { id: options.userId, is_bot: false, first_name: 'User' },
        chat_instance: 'ci',
        data: options.data,
        message: {
          message_id: options.messageId,
          date: 0,
          chat: { id: options.chatId, type: this.#chatType(options.chatId) },
          from: this.botInfo,
          text: message?.visible ?? '',
        },
      },
    });
    return id;
  }

  /** A user sends a text message; entities for a leading /command and @mentions are filled in. */
  sendText(options: SendTextOptions): number {
    const messageId = this.#nextMessageId++;
    const chatType = options.chatType ?? 'private';
    const entities: Array<{ type: string; offset: number; length: number }> = [];
    const command = /^\/[a-z_]+(@\w+)?/i.exec(options.text);
    if (command) entities.push({ type: 'bot_command', offset: 0, length: command[0].length });
    for (const mention of options.text.matchAll(/(^|\s)(@\w+)/g)) {
      entities.push({
        type: 'mention',
        offset: mention.index + mention[1]!.length,
        length: mention[2]!.length,
      });
    }
    const replied = options.replyToMessageId
      ? this.#messages.find((message) => message.messageId === options.replyToMessageId)
      : undefined;
    this.pushUpdate({
      message: {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat:
          chatType === 'private'
            ? { id: options.chatId, type: 'private', first_name: options.userName ?? 'User' }
            : { id: options.chatId, type: chatType, title: 'Group' },
        from: {
          id: options.userId,
          is_bot: false,
          first_name: options.userName ?? 'User',
          username: options.userName,
        },
        text: options.text,
        ...(entities.length ? { entities } : {}),
        ...(options.messageThreadId
          ? { message_thread_id: options.messageThreadId, is_topic_message: true }
          : {}),
        ...(replied
          ? {
              reply_to_message: {
                message_id: replied.messageId,
                date: 0,
                chat: { id: options.chatId, type: chatType },
                from: this.botInfo,
                text: replied.visible,
              },
            }
          : {}),
      },
    });
    return messageId;
  }

  /**
   * Resolves once the client has confirmed every update pushed so far: grammY asks for the next
   * offset only after its handlers ran, so by then the bot has seen each of them.
   */
  waitForDelivery(timeoutMs = 10_000): Promise<void> {
    const last = this.#nextUpdateId - 1;
    return this.waitFor(() => this.#confirmedUpdateId >= last, timeoutMs, `delivery of update ${last}`);
  }

  /** Resolves when `predicate` holds (checked after every call), or rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const listener = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.#listeners.add(listener);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^(?:\/([\w-]+))?\/bot([^/]+)\/(\w+)$/.exec(req.url?.split('?')[0] ?? '');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (!match || match[2] !== this.token) {
      this.#reply(res, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    const via = match[1];
    const method = match[3]!;
    const body = Buffer.concat(chunks).toString('utf8');
    const params = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    if (method === 'getUpdates') this.polls.push({ via, at: Date.now() });
    else this.calls.push({ method, params, at: Date.now(), ...(via ? { via } : {}) });
    const failure = this.#failures.get(method)?.shift();
    if (failure) {
      this.#reply(res, { ok: false, ...failure });
      this.#notify();
      return;
    }
    if (method === 'getUpdates') {
      await this.#getUpdates(req, res, params);
      return;
    }
    this.#reply(res, this.#call(method, params));
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #reply(res: ServerResponse, payload: unknown): void {
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  }

  async #getUpdates(
    req: IncomingMessage,
    res: ServerResponse,
    params: Record<string, unknown>,
  ): Promise<void> {
    const offset = typeof params.offset === 'number' ? params.offset : 0;
    // Confirming an offset forgets the older updates, as Telegram does.
    while (this.#updates.length && this.#updates[0]!.update_id < offset) this.#updates.shift();
    if (offset - 1 > this.#confirmedUpdateId) {
      this.#confirmedUpdateId = offset - 1;
      this.#notify();
    }
    const pending = () => this.#updates.filter((update) => update.update_id >= offset);
    const timeoutS = typeof params.timeout === 'number' ? params.timeout : 0;
    if (pending().length === 0 && timeoutS > 0) {
      await new Promise<void>((resolve) => {
        const waiter: Waiter = {
          offset,
          respond: () => {
            clearTimeout(timer);
            this.#waiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(waiter.respond, timeoutS * 1000);
        this.#waiters.add(waiter);
        req.once('close', waiter.respond);
      });
    }
    this.#reply(res, { ok: true, result: pending() });
  }

  #chatType(chatId: number): string {
    return chatId > 0 ? 'private' : 'supergroup';
  }

  #call(method: string, params: Record<string, unknown>): unknown {
    const ok = (result: unknown) => ({ ok: true, result });
    const bad = (description: string) => ({
      ok: false,
      error_code: 400,
      description: `Bad Request: ${description}`,
    });
    switch (method) {
      case 'getMe':
        return ok(this.botInfo);
      case 'deleteWebhook':
      case 'setWebhook':
      case 'setMyCommands':
      case 'sendChatAction':
      case 'answerCallbackQuery':
        return ok(true);
      case 'sendMessage':
      case 'sendMessageDraft': {
        const text = String(params.text ?? '');
        const parseMode = params.parse_mode as string | undefined;
        const visible = parseMode === 'HTML' ? visibleFromHtml(text) : text;
        if (visible === undefined) return bad("can't parse entities: unsupported start tag");
        if (visible.length > 4096) return bad('message is too long');
        const chatId = Number(params.chat_id);
        if (method === 'sendMessageDraft') {
          if (this.#chatType(chatId) !== 'private') return bad('draft messages are only for private chats');
          return ok(true);
        }
        if (!visible.trim()) return bad('message text is empty');
        const reply = params.reply_parameters as { message_id?: number } | undefined;
        const message: FakeBotMessage = {
          messageId: this.#nextMessageId++,
          chatId,
          raw: text,
          parseMode,
          visible,
          replyTo: reply?.message_id,
          threadId: params.message_thread_id as number | undefined,
          edits: 0,
          deleted: false,
          buttons: (params.reply_markup as { inline_keyboard?: FakeBotMessage['buttons'] } | undefined)
            ?.inline_keyboard,
        };
        this.#messages.push(message);
        return ok({
          message_id: message.messageId,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: this.#chatType(chatId) },
          from: this.botInfo,
          text: visible,
        });
      }
      case 'editMessageText': {
        const message = this.#messages.find(
          (m) =>
            m.chatId === Number(params.chat_id) && m.messageId === Number(params.message_id) && !m.deleted,
        );
        if (!message) return bad('message to edit not found');
        const text = String(params.text ?? '');
        const parseMode = params.parse_mode as string | undefined;
        const visible = parseMode === 'HTML' ? visibleFromHtml(text) : text;
        if (visible === undefined) return bad("can't parse entities: unsupported start tag");
        if (visible.length > 4096) return bad('message is too long');
        if (text === message.raw && parseMode === message.parseMode)
          return bad(
            'message is not modified: specified new message content and reply markup are exactly the same',
          );
        const buttons = (params.reply_markup as { inline_keyboard?: FakeBotMessage['buttons'] } | undefined)
          ?.inline_keyboard;
        Object.assign(message, { raw: text, parseMode, visible, edits: message.edits + 1, buttons });
        return ok({ message_id: message.messageId, chat: { id: message.chatId }, date: 0, text: visible });
      }
      case 'deleteMessage': {
        const message = this.#messages.find(
          (m) =>
            m.chatId === Number(params.chat_id) && m.messageId === Number(params.message_id) && !m.deleted,
        );
        if (!message) return bad('message to delete not found');
        message.deleted = true;
        return ok(true);
      }
      default:
        return { ok: false, error_code: 404, description: 'Not Found: method not found' };
    }
  }
}
