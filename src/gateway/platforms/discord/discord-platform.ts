/**
 * The Discord adapter: a discord.js 14 gateway connection for inbound messages (DMs and guild
 * messages, with the MessageContent intent) and the REST primitives the StreamConsumer drives —
 * send, edit, delete and typing — posted straight to the channel (or thread) the request came from.
 * Markdown passes through untouched because Discord renders it. It does not split, pace or retry
 * replies: that is the StreamConsumer's job, so 429s are surfaced at once as FloodControlError
 * rather than slept on inside discord.js. Approval prompts carry buttons; a press arrives as an
 * interaction, acknowledged as an update when accepted and answered with an ephemeral note when not.
 * Pairing offers are not sent here (a DM to an admin needs a channel first).
 */
import { once } from 'node:events';
import {
  type ButtonInteraction,
  ButtonStyle,
  Client,
  type ClientOptions,
  ComponentType,
  Events,
  GatewayIntentBits,
  type Message,
  MessageFlags,
  Partials,
  Routes,
} from 'discord.js';
import { z } from 'zod';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import {
  type ApprovalAnswer,
  type ApprovalAnswerResult,
  type ChatPlatform,
  type InboundMessage,
  isApprovalDecision,
  type ReplyTarget,
  type SendOptions,
  type SentMessage,
} from '../../types.ts';
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
  #approvalHandler: ((answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>) | undefined;

  constructor(options: DiscordPlatformOptions) {
    this.#options = options;
  }

  onMessage(handler: (message: InboundMessage) => void): void {
    this.#handler = handler;
  }

  onApprovalAnswer(handler: (answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>): void {
    this.#approvalHandler = handler;
  }

  async sendApprovalPrompt(
    target: ReplyTarget,
    text: string,
    requestId: string,
    kind: 'tool' | 'pairing',
  ): Promise<SentMessage> {
    if (kind === 'pairing') throw new Error('Discord pairing offers are not supported; use herald pairing.');
    const button = (label: string, decision: ApprovalAnswer['decision'], style: ButtonStyle) => ({
      type: ComponentType.Button,
      style,
      label,
      custom_id: `${approvalIdPrefix}${decision}:${requestId}`,
    });
    const body = {
      content: text,
      allowed_mentions: { parse: [] },
      components: [
        {
          type: ComponentType.ActionRow,
          components: [
            button('Approve once', 'once', ButtonStyle.Success),
            button('This conversation', 'session', ButtonStyle.Secondary),
            button('Always', 'always', ButtonStyle.Secondary),
            button('Deny', 'deny', ButtonStyle.Danger),
          ],
        },
      ],
    };
    try {
      const created = await this.#rest().post(Routes.channelMessages(channelOf(target)), { body });
      return { id: createdMessageSchema.parse(created).id };
    } catch (error) {
      throw mapSendError(error);
    }
  }

  async closeApprovalPrompt(target: ReplyTarget, prompt: SentMessage, text: string): Promise<void> {
    try {
      await this.#rest().patch(Routes.channelMessage(channelOf(target), prompt.id), {
        body: { content: text, components: [] },
      });
    } catch (error) {
      throw mapEditError(error);
    }
  }

  /** Logs in and resolves once the gateway session is ready (bot user known). Retryable after a failure. */
  async start(): Promise<void> {
    if (this.#client) return;
    const client = (this.#options.clientFactory ?? ((o: ClientOptions) => new Client(o)))(
      this.#clientOptions(),
    );
    client.on(Events.MessageCreate, (message) => this.#receive(message, client));
    client.on(Events.InteractionCreate, (interaction) => {
      if (!interaction.isButton() || !interaction.customId.startsWith(approvalIdPrefix)) return;
      this.#approvalPressed(interaction).catch((error: unknown) =>
        this.#options.logger.error({ event: 'discord.approval_failed', err: error }),
      );
    });
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

  async #approvalPressed(interaction: ButtonInteraction): Promise<void> {
    const [decision = '', requestId = ''] = interaction.customId.slice(approvalIdPrefix.length).split(':');
    const result =
      isApprovalDecision(decision) && this.#approvalHandler
        ? await this.#approvalHandler({
            requestId,
            decision,
            userId: interaction.user.id,
          })
        : { accepted: false, notice: 'This button is no longer active.' };
    // Discord needs an answer to every interaction: the prompt's own update, or a note for the presser.
    if (result.accepted) await interaction.deferUpdate();
    else await interaction.reply({ content: result.notice, flags: MessageFlags.Ephemeral });
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

/** `custom_id` of approval buttons: the prefix, the decision, then the request id. */
const approvalIdPrefix = 'herald_approval:';

/** Replies go to the thread when there is one, else to the channel itself. */
function channelOf(target: ReplyTarget): string {
  return target.threadId ?? target.chatId;
}
