/**
 * The DingTalk adapter: a robot of a DingTalk app in Stream mode (the official `dingtalk-stream`
 * SDK's WebSocket, no public URL needed) that answers private chats and group @-mentions. Replies go
 * through each message's `sessionWebhook` as Markdown, sent once when the reply is complete and split
 * at `maxMessageLength`; with `card_template_id` set the reply streams into an AI card instead (card
 * create + streaming update), falling back to Markdown if the card fails. Markdown messages cannot be
 * edited, so `edit` always fails and there is no typing indicator. Each callback is acknowledged at
 * once (DingTalk re-sends unacknowledged ones) and duplicates are dropped by message id. Approval
 * prompts are Markdown messages ending in numbered choices: a reply of one of the numbers in the
 * prompt's chat answers it and is not passed on as a message once accepted; since nothing can be
 * edited, the outcome follows as a new message. Pairing offers are not sent (a robot reaches a person
 * only in reply to them): admins let strangers in with `herald pairing approve`.
 */
import { TOPIC_ROBOT } from 'dingtalk-stream';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import { NumberedPrompts } from '../../numbered-prompts.ts';
import type { PromptKind } from '../../numbered-reply.ts';
import {
  type ApprovalAnswer,
  type ApprovalAnswerResult,
  type ChatPlatform,
  EditFailedError,
  type InboundMessage,
  type NativeStream,
  type PlatformLimits,
  type ReplyTarget,
  type SentMessage,
} from '../../types.ts';
import { DingTalkApi } from './dingtalk-api.ts';
import { DingTalkCardStream } from './dingtalk-card-stream.ts';
import { parseRobotMessage, type RobotMessage, toInboundMessage } from './dingtalk-inbound.ts';
import { DingTalkStreamClient } from './dingtalk-stream-client.ts';

export type DingTalkConfig = HeraldConfig['platforms']['dingtalk'] & {
  client_id: string;
  client_secret: string;
};

export interface DingTalkPlatformOptions {
  config: DingTalkConfig;
  logger: Logger;
}

/**
 * DingTalk documents no length limit for robot Markdown; messages of a few thousand characters are
 * reported to be cut, so replies are split at a conservative 4000 characters (code points).
 */
export const DINGTALK_MAX_MESSAGE_CHARS = 4000;

/** Inbound messages remembered for replies and de-duplication (oldest forgotten first). */
const MEMORY = 2000;

export class DingTalkPlatform implements ChatPlatform {
  readonly name = 'dingtalk' as const;
  readonly limits: PlatformLimits;
  readonly #options: DingTalkPlatformOptions;
  readonly #logger: Logger;
  readonly #api: DingTalkApi;
  readonly #messages = new Map<string, RobotMessage>();
  #client: DingTalkStreamClient | undefined;
  #handler: ((message: InboundMessage) => void) | undefined;
  readonly #prompts = new NumberedPrompts();

  constructor(options: DingTalkPlatformOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ platform: 'dingtalk' });
    const { config } = options;
    this.#api = new DingTalkApi({
      apiRoot: config.api_root,
      clientId: config.client_id,
      clientSecret: config.client_secret,
    });
    this.limits = {
      maxMessageLength: DINGTALK_MAX_MESSAGE_CHARS,
      countLength: (text) => [...text].length,
      defaultEditIntervalMs: 1000,
      // Only an AI card can show a reply while it grows.
      streams: Boolean(config.card_template_id),
    };
  }

  onMessage(handler: (message: InboundMessage) => void): void {
    this.#handler = handler;
  }

  onApprovalAnswer(handler: (answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>): void {
    this.#prompts.onAnswer(handler);
  }

  async sendApprovalPrompt(
    target: ReplyTarget,
    text: string,
    requestId: string,
    kind: PromptKind,
  ): Promise<SentMessage> {
    if (kind === 'pairing') {
      throw new Error('dingtalk: a robot cannot message an admin first; use herald pairing approve');
    }
    return this.#prompts.send({ requestId, chatId: target.chatId, kind }, text, (body) =>
      this.send(target, body),
    );
  }

  /** Sends the outcome (the settled text's last paragraph): a sent prompt cannot be edited. */
  async closeApprovalPrompt(target: ReplyTarget, prompt: SentMessage, text: string): Promise<void> {
    this.#prompts.close(prompt.id);
    await this.send(target, text.slice(text.lastIndexOf('\n\n') + 2));
  }

  /** Opens the Stream connection; rejects when the gateway refuses the credentials. */
  async start(): Promise<void> {
    if (this.#client) return;
    const { config } = this.#options;
    const client = new DingTalkStreamClient({
      clientId: config.client_id,
      clientSecret: config.client_secret,
      apiRoot: config.api_root,
    });
    client.registerCallbackListener(TOPIC_ROBOT, (downstream) => {
      client.socketCallBackResponse(downstream.headers.messageId, { status: 'SUCCESS' });
      this.#receive(downstream.data);
    });
    await client.connect();
    if (!client.connected) {
      client.stop();
      throw client.lastError instanceof Error
        ? client.lastError
        : new Error('DingTalk Stream connection failed');
    }
    client.config.autoReconnect = true;
    this.#client = client;
    this.#logger.info({ event: 'dingtalk.ready' });
  }

  async stop(): Promise<void> {
    this.#client?.stop();
    this.#client = undefined;
  }

  async send(target: ReplyTarget, text: string): Promise<SentMessage> {
    const message = this.#messages.get(target.inboundMessageId);
    if (!message) throw new Error('dingtalk: no inbound message to reply to');
    await this.#api.replyMarkdown(message.sessionWebhook, title(text), text);
    return { id: crypto.randomUUID() };
  }

  /** Markdown messages sent through a session webhook cannot be edited. */
  async edit(): Promise<void> {
    throw new EditFailedError('DingTalk robot messages cannot be edited');
  }

  async delete(): Promise<void> {}

  async sendTyping(): Promise<void> {}

  openNativeStream(target: ReplyTarget): NativeStream | undefined {
    const { card_template_id: templateId, card_content_key: contentKey } = this.#options.config;
    if (!templateId) return undefined;
    return new DingTalkCardStream({
      api: this.#api,
      templateId,
      contentKey,
      space: { conversationId: target.chatId, isPrivate: target.isPrivate, userId: target.userId },
    });
  }

  #receive(data: string): void {
    const message = parseRobotMessage(data);
    if (!message || this.#messages.has(message.msgId)) return;
    this.#messages.set(message.msgId, message);
    if (this.#messages.size > MEMORY) this.#messages.delete(this.#messages.keys().next().value!);
    const inbound = toInboundMessage(message);
    if (!inbound) return;
    this.#prompts.route(
      inbound,
      () => this.#deliver(inbound),
      (error) => this.#logger.error({ event: 'dingtalk.approval_answer_failed', err: error }),
    );
  }

  #deliver(inbound: InboundMessage): void {
    try {
      this.#handler?.(inbound);
    } catch (error) {
      this.#logger.error({ event: 'dingtalk.handler_failed', err: error });
    }
  }
}

/** The notification preview: the reply's first line without Markdown marks, shortened. */
function title(text: string): string {
  const first =
    text
      .trim()
      .split('\n')[0]
      ?.replace(/[#*_`>[\]]/g, '')
      .trim() ?? '';
  const chars = [...first];
  return chars.length > 40 ? `${chars.slice(0, 39).join('')}…` : first || 'Herald';
}
