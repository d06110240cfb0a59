/**
 * The Mattermost adapter: `Client4` (REST, bot token) checks who the bot is, and `WebSocketClient`
 * receives `posted` events; it answers direct messages and, in channels, posts that @-mention the
 * bot — in threads (`root_id`). Mattermost renders Markdown, so replies are sent as written; they
 * stream by editing the post (`PUT /posts/{id}/patch`) and show `user_typing` over the websocket.
 * Post writes go through `fetch` with Client4's routes and auth headers rather than Client4's own
 * methods, because those drop the response status and headers of a 429 (plain-text body), and the
 * StreamConsumer needs them to back off. Approval prompts end in numbered choices (interactive
 * buttons would need a public callback URL): a reply in the prompt's channel that is one of the
 * numbers answers it, is not passed on as a message once accepted, and the prompt post is patched to
 * the outcome; pairing offers reach an admin in their direct channel with the bot. It does not pace,
 * split or retry replies.
 */
import { Client4, WebSocketClient, type WebSocketMessage } from '@mattermost/client';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import { NumberedPrompts } from '../../numbered-prompts.ts';
import type { PromptKind } from '../../numbered-reply.ts';
import type {
  ApprovalAnswer,
  ApprovalAnswerResult,
  ChatPlatform,
  InboundMessage,
  ReplyTarget,
  SendOptions,
  SentMessage,
} from '../../types.ts';
import { MattermostApiError, mapEditError, mapSendError, retryAfterMs } from './mattermost-errors.ts';
import { type MattermostBot, toInboundMessage } from './mattermost-inbound.ts';
import { mattermostLimits } from './mattermost-limits.ts';

export type MattermostConfig = HeraldConfig['platforms']['mattermost'] & { url: string; token: string };

export interface MattermostPlatformOptions {
  config: MattermostConfig;
  logger: Logger;
  /** Longest `start()` waits for the websocket's `hello`. */
  connectTimeoutMs?: number;
}

export class MattermostPlatform implements ChatPlatform {
  readonly name = 'mattermost' as const;
  readonly limits = mattermostLimits;
  readonly #options: MattermostPlatformOptions;
  readonly #logger: Logger;
  readonly #client = new Client4();
  #socket: WebSocketClient | undefined;
  #bot: MattermostBot | undefined;
  #handler: ((message: InboundMessage) => void) | undefined;
  readonly #prompts = new NumberedPrompts();

  constructor(options: MattermostPlatformOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ platform: 'mattermost' });
    this.#client.setUrl(options.config.url.replace(/\/+$/, ''));
    this.#client.setToken(options.config.token);
  }

  onMessage(handler: (message: InboundMessage) => void): void {
    this.#handler = handler;
  }

  onApprovalAnswer(handler: (answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>): void {
    this.#prompts.onAnswer(handler);
  }

  /** The prompt with numbered choices; a pairing offer (addressed by the admin's user id) goes to their DM. */
  async sendApprovalPrompt(
    target: ReplyTarget,
    text: string,
    requestId: string,
    kind: PromptKind,
  ): Promise<SentMessage> {
    const to = kind === 'pairing' ? { ...target, chatId: await this.#directChannel(target.userId) } : target;
    return this.#prompts.send({ requestId, chatId: to.chatId, kind }, text, (body) => this.send(to, body));
  }

  async closeApprovalPrompt(target: ReplyTarget, prompt: SentMessage, text: string): Promise<void> {
    this.#prompts.close(prompt.id);
    await this.edit(target, prompt, text);
  }

  /** Checks the token (users/me), opens the websocket and resolves once the server said hello. */
  async start(): Promise<void> {
    if (this.#socket) return;
    const me = await this.#client.getMe();
    this.#bot = { userId: me.id, username: me.username };
    const socket = new WebSocketClient();
    this.#socket = socket;
    const hello = Promise.withResolvers<void>();
    const timeout = setTimeout(
      () => hello.reject(new Error('Mattermost websocket did not say hello')),
      this.#options.connectTimeoutMs ?? 30_000,
    );
    socket.addMessageListener((message) => {
      if (message.event === 'hello') hello.resolve();
      else if (message.event === 'posted') this.#posted(message);
    });
    // Without a missed-message listener the client keeps its old sequence number when a restarted
    // server greets it with a new connection, and reconnects forever on the mismatch.
    socket.addMissedMessageListener(() => {
      this.#logger.info(
        { event: 'mattermost.new_session' },
        'websocket reconnected to a new server session; posts sent meanwhile are not answered',
      );
    });
    socket.initialize(this.#client.getWebSocketUrl().replace(/^http/, 'ws'), this.#options.config.token);
    try {
      await hello.promise;
    } catch (error) {
      socket.close();
      this.#socket = undefined;
      throw error;
    } finally {
      clearTimeout(timeout);
    }
    this.#logger.info({ event: 'mattermost.ready', username: me.username }, 'Mattermost websocket connected');
  }

  async stop(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close();
  }

  /** Threads are the only reply structure here, so `replyToInbound` changes nothing. */
  async send(target: ReplyTarget, text: string, _options?: SendOptions): Promise<SentMessage> {
    const post = { channel_id: target.chatId, message: text, root_id: target.threadId ?? '' };
    try {
      const created = await this.#write<{ id: string }>('POST', this.#client.getPostsRoute(), post);
      return { id: created.id };
    } catch (error) {
      throw mapSendError(error);
    }
  }

  async edit(_target: ReplyTarget, message: SentMessage, text: string): Promise<void> {
    try {
      await this.#write('PUT', `${this.#client.getPostRoute(message.id)}/patch`, { message: text });
    } catch (error) {
      throw mapEditError(error);
    }
  }

  async delete(_target: ReplyTarget, message: SentMessage): Promise<void> {
    try {
      await this.#write('DELETE', this.#client.getPostRoute(message.id));
    } catch (error) {
      throw mapSendError(error);
    }
  }

  async sendTyping(target: ReplyTarget): Promise<void> {
    this.#socket?.userTyping(target.chatId, target.threadId ?? '');
  }

  /** The direct channel of the bot and `userId` (created by the server on first use). */
  async #directChannel(userId: string): Promise<string> {
    const bot = this.#bot?.userId;
    if (!bot) throw new Error('Mattermost platform is not started');
    const channel = await this.#write<{ id: string }>('POST', `${this.#client.getChannelsRoute()}/direct`, [
      bot,
      userId,
    ]);
    return channel.id;
  }

  async #write<T>(method: string, url: string, body?: unknown): Promise<T> {
    const init = this.#client.getOptions({
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    if (!response.ok) {
      const message = parseMessage(text) ?? response.statusText;
      throw new MattermostApiError(response.status, message, retryAfterMs(response.headers));
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  #posted(message: WebSocketMessage): void {
    if (!this.#bot || !this.#handler) return;
    const inbound = toInboundMessage(message, this.#bot);
    if (!inbound) return;
    this.#prompts.route(
      inbound,
      () => this.#deliver(inbound),
      (error) => this.#logger.error({ event: 'mattermost.approval_answer_failed', err: error }),
    );
  }

  #deliver(inbound: InboundMessage): void {
    if (!this.#handler) return;
    try {
      this.#handler(inbound);
    } catch (error) {
      this.#logger.error({ event: 'mattermost.handler_failed', err: error });
    }
  }
}

/** The `message` of a Mattermost JSON error body; undefined for the rate limiter's plain text. */
function parseMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : undefined;
  } catch {
    return text.trim() || undefined;
  }
}
