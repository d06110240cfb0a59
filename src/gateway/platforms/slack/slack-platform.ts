/**
 * The Slack adapter: a Bolt app in Socket Mode (app-level token `xapp-…` for the WebSocket, bot token
 * `xoxb-…` for the Web API) that answers DMs and @-mentions, the latter in threads. Replies are
 * converted from Markdown to mrkdwn and sent with chat.postMessage / chat.update / chat.delete; with
 * `native_streaming` it also offers Slack's own text streaming (see SlackNativeStream). There is no
 * typing indicator: Slack has none for bots outside assistant threads, and a placeholder reaction
 * would need an extra scope and two more calls per reply, so `sendTyping` does nothing. It does not
 * pace, split or retry replies — the StreamConsumer does — so 429s surface as FloodControlError.
 * Approval prompts are Block Kit messages with buttons; a press arrives as a `block_actions`
 * interaction, and a press that is not accepted gets an ephemeral note.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { App, SocketModeReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import {
  type ApprovalAnswer,
  type ApprovalAnswerResult,
  type ChatPlatform,
  type InboundMessage,
  isApprovalDecision,
  type NativeStream,
  type ReplyTarget,
  type SendOptions,
  type SentMessage,
} from '../../types.ts';
import { mapEditError, mapSendError } from './slack-errors.ts';
import { toInboundMessage } from './slack-inbound.ts';
import { slackLimits } from './slack-limits.ts';
import { toSlackLogger } from './slack-logger.ts';
import { toSlackMrkdwn } from './slack-mrkdwn.ts';
import { SlackNativeStream } from './slack-native-stream.ts';

export interface SlackPlatformOptions {
  config: HeraldConfig['platforms']['slack'] & { bot_token: string; app_token: string };
  logger: Logger;
  /** Web API base with a trailing slash, e.g. `http://127.0.0.1:PORT/api/` for a fake; default Slack's. */
  slackApiUrl?: string;
}

export class SlackPlatform implements ChatPlatform {
  readonly name = 'slack' as const;
  readonly limits = slackLimits;
  readonly #options: SlackPlatformOptions;
  #app: App | undefined;
  #receiver: SocketModeReceiver | undefined;
  #teamId: string | undefined;
  #handler: ((message: InboundMessage) => void) | undefined;
  #approvalHandler: ((answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>) | undefined;
  /** Set when chat.startStream was refused once; later replies stream by editing. */
  #nativeUnavailable = false;

  constructor(options: SlackPlatformOptions) {
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
    const button = (label: string, decision: ApprovalAnswer['decision'], style?: 'primary' | 'danger') => ({
      type: 'button' as const,
      text: { type: 'plain_text' as const, text: label },
      action_id: `${approvalActionPrefix}${decision}`,
      value: requestId,
      ...(style ? { style } : {}),
    });
    try {
      const posted = await this.#client().chat.postMessage({
        channel: target.chatId,
        ...(target.threadId ? { thread_ts: target.threadId } : {}),
        text,
        blocks: [
          promptSection(text),
          {
            type: 'actions',
            elements:
              kind === 'pairing'
                ? [button('Let in', 'once', 'primary'), button('Refuse', 'deny', 'danger')]
                : [
                    button('Approve once', 'once', 'primary'),
                    button('This conversation', 'session'),
                    button('Always', 'always'),
                    button('Deny', 'deny', 'danger'),
                  ],
          },
        ],
      });
      return { id: posted.ts ?? '' };
    } catch (error) {
      throw mapSendError(error);
    }
  }

  /** The prompt without its buttons (a `chat.update` with text only would keep the old blocks). */
  async closeApprovalPrompt(target: ReplyTarget, prompt: SentMessage, text: string): Promise<void> {
    try {
      await this.#client().chat.update({
        channel: target.chatId,
        ts: prompt.id,
        text,
        blocks: [promptSection(text)],
      });
    } catch (error) {
      throw mapEditError(error);
    }
  }

  /** Verifies the bot token, opens the Socket Mode connection and resolves once Slack said hello. */
  async start(): Promise<void> {
    if (this.#app) return;
    const { config, logger, slackApiUrl } = this.#options;
    const apiUrl = slackApiUrl ? { slackApiUrl } : {};
    const clientOptions: WebClientOptions = {
      ...apiUrl,
      // Surface 429s to the StreamConsumer instead of sleeping inside the client; few quick retries
      // for network errors, since a reply edit minutes late is worse than a skipped one.
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 2, minTimeout: 200, maxTimeout: 2000 },
    };
    const slackLogger = toSlackLogger(logger);
    // Built here rather than by Bolt so `stop()` can wait for its WebSocket to close (see there).
    const receiver = new SocketModeReceiver({
      appToken: config.app_token,
      logger: slackLogger,
      // The Socket Mode client builds its own WebClient (for apps.connections.open) from these.
      installerOptions: { clientOptions: apiUrl },
    });
    const app = new App({
      token: config.bot_token,
      receiver,
      socketMode: true,
      deferInitialization: true,
      logger: slackLogger,
      clientOptions,
    });
    app.event('message', async ({ event, context }) => this.#receive(event, context.botUserId));
    app.event('app_mention', async ({ event, context }) => this.#receive(event, context.botUserId));
    app.action({ action_id: new RegExp(`^${approvalActionPrefix}`) }, async ({ ack, body, action }) => {
      await ack();
      await this.#approvalPressed(body, action);
    });
    app.error(async (error) => {
      logger.error({ event: 'slack.listener_error', err: error });
    });
    this.#app = app;
    this.#receiver = receiver;
    try {
      await app.init();
      await app.start();
      const auth = await app.client.auth.test();
      this.#teamId = auth.team_id;
      logger.info({ event: 'slack.ready', botUserId: auth.user_id, teamId: auth.team_id });
    } catch (error) {
      this.#app = undefined;
      this.#receiver = undefined;
      await closeSocket(receiver);
      throw error;
    }
  }

  async stop(): Promise<void> {
    const receiver = this.#receiver;
    this.#app = undefined;
    this.#receiver = undefined;
    if (receiver) await closeSocket(receiver);
  }

  /**
   * Slack threads are the only reply structure, and mentions are already answered in their thread,
   * so `replyToInbound` changes nothing here.
   */
  async send(target: ReplyTarget, text: string, _options?: SendOptions): Promise<SentMessage> {
    try {
      const posted = await this.#client().chat.postMessage({
        channel: target.chatId,
        ...(target.threadId ? { thread_ts: target.threadId } : {}),
        text: toSlackMrkdwn(text),
      });
      return { id: posted.ts ?? '' };
    } catch (error) {
      throw mapSendError(error);
    }
  }

  async edit(target: ReplyTarget, message: SentMessage, text: string): Promise<void> {
    try {
      await this.#client().chat.update({ channel: target.chatId, ts: message.id, text: toSlackMrkdwn(text) });
    } catch (error) {
      throw mapEditError(error);
    }
  }

  async delete(target: ReplyTarget, message: SentMessage): Promise<void> {
    try {
      await this.#client().chat.delete({ channel: target.chatId, ts: message.id });
    } catch (error) {
      throw mapSendError(error);
    }
  }

  /** No-op: see the module comment for why Slack gets no typing indicator. */
  async sendTyping(_target: ReplyTarget): Promise<void> {}

  openNativeStream(target: ReplyTarget): NativeStream | undefined {
    if (!this.#options.config.native_streaming || this.#nativeUnavailable || !this.#app) return undefined;
    return new SlackNativeStream({
      client: this.#app.client,
      channel: target.chatId,
      threadTs: target.threadId ?? target.inboundMessageId,
      recipientUserId: target.userId,
      ...(this.#teamId ? { recipientTeamId: this.#teamId } : {}),
      logger: this.#options.logger,
      onUnavailable: (error) => {
        this.#nativeUnavailable = true;
        this.#options.logger.warn({ event: 'slack.native_streaming_unavailable', err: error });
      },
    });
  }

  async #approvalPressed(body: unknown, action: unknown): Promise<void> {
    const press = body as {
      user?: { id?: string };
      channel?: { id?: string };
      message?: { thread_ts?: string };
    };
    const button = action as { action_id?: string; value?: string };
    const decision = button.action_id?.slice(approvalActionPrefix.length) ?? '';
    const userId = press.user?.id;
    if (!userId || !button.value || !isApprovalDecision(decision) || !this.#approvalHandler) return;
    const result = await this.#approvalHandler({
      requestId: button.value,
      decision,
      userId,
    });
    // An accepted press shows in the updated prompt; a refused one is told only to the presser.
    if (result.accepted || !press.channel?.id) return;
    await this.#client().chat.postEphemeral({
      channel: press.channel.id,
      user: userId,
      text: result.notice,
      ...(press.message?.thread_ts ? { thread_ts: press.message.thread_ts } : {}),
    });
  }

  #client(): App['client'] {
    if (!this.#app) throw new Error('Slack platform is not started');
    return this.#app.client;
  }

  #receive(event: unknown, botUserId: string | undefined): void {
    if (!botUserId || !this.#handler) return;
    const inbound = toInboundMessage(event, botUserId);
    if (!inbound) return;
    try {
      this.#handler(inbound);
    } catch (error) {
      this.#options.logger.error({ event: 'slack.handler_failed', err: error });
    }
  }
}

/** `action_id` of approval buttons: the prefix, then the decision; the button's value is the request id. */
const approvalActionPrefix = 'herald_approval_';

/** The prompt's text as a plain-text section (commands are full of characters mrkdwn would eat). */
function promptSection(text: string) {
  return { type: 'section' as const, text: { type: 'plain_text' as const, text: text.slice(0, 3000) } };
}

/** Longest `stop()` waits for Slack to complete the WebSocket close handshake. */
const CLOSE_WAIT_MS = 5000;

/**
 * Bolt's `App.stop()` resolves before the Socket Mode WebSocket has closed; if the connection then
 * drops mid-handshake the client leaves a 30 s timer behind. Waiting for the client's own
 * `disconnect()` (which resolves once the socket is closed) avoids both, bounded in case Slack never
 * answers the close frame.
 */
async function closeSocket(receiver: SocketModeReceiver): Promise<void> {
  const timeout = new AbortController();
  await Promise.race([
    receiver.client.disconnect(),
    sleep(CLOSE_WAIT_MS, undefined, { signal: timeout.signal }).catch(() => {}),
  ]);
  timeout.abort();
}
