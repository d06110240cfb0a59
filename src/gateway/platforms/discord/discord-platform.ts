/**
 * The Discord adapter: a discord.js 14 gateway connection for inbound messages (DMs and guild
 * messages, with the MessageContent intent) and the REST primitives the StreamConsumer drives —
 * send, edit, delete and typing — posted straight to the channel (or thread) the request came from.
 * Markdown passes through untouched because Discord renders it. It does not split, pace or retry
 * replies: that is the StreamConsumer's job, so 429s are surfaced at once as FloodControlError
 * rather than slept on inside discord.js.
 */
import { once } from 'node:events';
import {
  Client,
  type ClientOptions,
  Events,
  GatewayIntentBits,
  type Message,
  Partials,
  Routes,
} from 'discord.js';
import { z } from 'zod';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import type { ChatPlatform, InboundMessage, ReplyTarget, SendOptions, SentMessage } from '../../types.ts';
import { mapEditError, mapSendError } from './discord-errors.ts';
import { toInboundMessage } from './discord-inbound.ts';
import { discordLimits } from './discord-limits.ts';

export interface DiscordPlatformOptions {
  config: HeraldConfig['platforms']['discord'] & { token: string };
  logger: Logger;
  /** REST base URL without the version, e.g. `http://127.0.0.1:PORT/api` for a fake; default Discord's. */
  restApi?: string;
  /** Builds the discord.js client from Herald's options; for tests that need to adjust them. */
  clientFactory?: (options: ClientOptions) => Client;
}

/** The part of Discord's message object Herald reads back after a send. */
const createdMessageSchema = z.object({ id: z.string() });

export class DiscordPlatform implements ChatPlatform {
  readonly name = 'discord' as const;
  readonly limits = discordLimits;
  readonly #options: DiscordPlatformOptions;
  #client: Client | undefined;
  #handler: ((message: InboundMessage) => void) | undefined;

  constructor(options: DiscordPlatformOptions) {
    this.#options = options;
  }

  onMessage(handler: (message: InboundMessage) => void): void {
    this.#handler = handler;
  }

  /** Logs in and resolves once the gateway session is ready (bot user known). Retryable after a failure. */
  async start(): Promise<void> {
    if (this.#client) return;
    const client = (this.#options.clientFactory ?? ((o: ClientOptions) => new Client(o)))(
      this.#clientOptions(),
    );
    client.on(Events.MessageCreate, (message) => this.#receive(message, client));
    client.on(Events.Error, (error) =>
      this.#options.logger.error({ event: 'discord.client_error', err: error }),
    );
    this.#client = client;
    try {
      await client.login(this.#options.config.token);
      if (!client.isReady()) await once(client, Events.ClientReady);
      this.#options.logger.info({ event: 'discord.ready', botUserId: client.user?.id });
    } catch (error) {
      this.#client = undefined;
      await client.destroy();
      throw error;
    }
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.destroy();
  }

  async send(target: ReplyTarget, text: string, options?: SendOptions): Promise<SentMessage> {
    const body = {
      content: text,
      // The agent's text must never ping @everyone or arbitrary users, nor re-ping the asker.
      allowed_mentions: { parse: [], replied_user: false },
      ...(options?.replyToInbound
        ? { message_reference: { message_id: target.inboundMessageId, fail_if_not_exists: false } }
        : {}),
    };
    try {
      const created = await this.#rest().post(Routes.channelMessages(channelOf(target)), { body });
      return { id: createdMessageSchema.parse(created).id };
    } catch (error) {
      throw mapSendError(error);
    }
  }

  async edit(target: ReplyTarget, message: SentMessage, text: string): Promise<void> {
    try {
      await this.#rest().patch(Routes.channelMessage(channelOf(target), message.id), {
        body: { content: text },
      });
    } catch (error) {
      throw mapEditError(error);
    }
  }

  async delete(target: ReplyTarget, message: SentMessage): Promise<void> {
    try {
      await this.#rest().delete(Routes.channelMessage(channelOf(target), message.id));
    } catch (error) {
      throw mapSendError(error);
    }
  }

  /** Discord shows "Bot is typing…" for about 10 s or until the bot's next message. */
  async sendTyping(target: ReplyTarget): Promise<void> {
    try {
      await this.#rest().post(Routes.channelTyping(channelOf(target)));
    } catch (error) {
      this.#options.logger.debug({ event: 'discord.typing_failed', err: error });
    }
  }

  #clientOptions(): ClientOptions {
    return {
      intents: [
        GatewayIntentBits.Guilds,
        GatewayIntentBits.GuildMessages,
        GatewayIntentBits.MessageContent,
        GatewayIntentBits.DirectMessages,
      ],
      // DM channels are not cached before their first message; without this their messages are dropped.
      partials: [Partials.Channel],
      rest: {
        ...(this.#options.restApi ? { api: this.#options.restApi } : {}),
        // Surface 429s to the StreamConsumer (which coalesces edits) instead of queueing behind them.
        rejectOnRateLimit: () => true,
      },
    };
  }

  #rest(): Client['rest'] {
    if (!this.#client) throw new Error('Discord platform is not started');
    return this.#client.rest;
  }

  #receive(message: Message, client: Client): void {
    const botUserId = client.user?.id;
    if (!botUserId || !this.#handler) return;
    const inbound = toInboundMessage(message, botUserId);
    if (!inbound) return;
    try {
      this.#handler(inbound);
    } catch (error) {
      this.#options.logger.error({ event: 'discord.handler_failed', err: error });
    }
  }
}

/** Replies go to the thread when there is one, else to the channel itself. */
function channelOf(target: ReplyTarget): string {
  return target.threadId ?? target.chatId;
}
