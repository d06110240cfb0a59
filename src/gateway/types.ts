/**
 * Contracts between the gateway and its platform adapters. Every adapter (the API server included)
 * is a `PlatformAdapter` the `GatewayRunner` starts and stops. Messaging adapters are also
 * `ChatPlatform`s: they turn platform updates into `InboundMessage`s for the gateway and expose the
 * send/edit primitives the `StreamConsumer` drives. Adapters know nothing of the model or tools.
 */

export interface PlatformAdapter {
  /** `api-server`, `telegram`, `discord`, `slack`, `whatsapp`, `matrix`, `mattermost`. */
  readonly name: string;
  start(): Promise<void>;
  /** Stops accepting work; lets running replies finish within the grace period, then aborts them. */
  stop(): Promise<void>;
}

/** One message a person sent to the bot, already normalised by the adapter. */
export interface InboundMessage {
  platform: 'telegram' | 'discord' | 'slack' | 'whatsapp' | 'matrix' | 'mattermost';
  chatId: string;
  /** Thread/topic id where the platform has threads; replies go there. */
  threadId?: string;
  userId: string;
  userName?: string;
  messageId: string;
  text: string;
  isPrivate: boolean;
  /** The bot was @-mentioned or the message replies to one of the bot's messages. */
  addressedToBot: boolean;
}

/** A message the bot sent, as needed to edit it later. */
export interface SentMessage {
  id: string;
}

/** Where a reply goes: the chat (and thread) of the inbound message it answers. */
export interface ReplyTarget {
  chatId: string;
  threadId?: string;
  /** The inbound message being answered (for reply threading). */
  inboundMessageId: string;
  userId: string;
  isPrivate: boolean;
}

export interface SendOptions {
  /** Thread this message under the inbound message (Telegram reply_to_mode decides per chunk). */
  replyToInbound?: boolean;
}

/** How a platform measures and limits messages. */
export interface PlatformLimits {
  /** Max length of one message, counted with `countLength` (Telegram 4096, Discord 2000, Slack 40,000, Mattermost 16,383; Matrix counts bytes). */
  maxMessageLength: number;
  /** Length the way the platform counts it (e.g. UTF-16 code units for Telegram). */
  countLength(text: string): number;
  /** Default minimum interval between edits of one message. */
  defaultEditIntervalMs: number;
  /**
   * Default minimum interval between edits in group chats, where the platform's flood limits are
   * per chat and tighter (Telegram ~20 edits/min per group). Unset: same as `defaultEditIntervalMs`.
   */
  defaultGroupEditIntervalMs?: number;
}

/**
 * A platform's own streaming facility (Telegram `sendMessageDraft`, Slack `chat.startStream`), used by
 * the StreamConsumer instead of send+edit when the adapter offers one for a target.
 */
export interface NativeStream {
  /**
   * Shows `text` (the whole reply so far) to the user. `text` is answer text only: the StreamConsumer
   * never puts its cursor or tool-progress line into a native stream. May throw FloodControlError.
   */
  update(text: string): Promise<void>;
  /** Ends the stream with the complete text, delivered as permanent message(s). */
  finish(text: string): Promise<void>;
  /** Ends the stream early (abort/error) leaving whatever is visible. */
  cancel(): Promise<void>;
}

/**
 * A messaging platform adapter: inbound messages to the gateway, send/edit primitives for replies.
 * `send` and `edit` take plain Markdown-ish agent text and format it for the platform themselves
 * (with a plain-text retry when the platform rejects the formatting). They throw `FloodControlError`
 * on 429 and `EditFailedError` when an edit can never succeed.
 */
export interface ChatPlatform extends PlatformAdapter {
  readonly name: InboundMessage['platform'];
  readonly limits: PlatformLimits;
  /** Registered by the gateway before `start()`. */
  onMessage(handler: (message: InboundMessage) => void): void;
  send(target: ReplyTarget, text: string, options?: SendOptions): Promise<SentMessage>;
  edit(target: ReplyTarget, message: SentMessage, text: string): Promise<void>;
  /** Removes a message (e.g. a tool-progress line); best effort. */
  delete(target: ReplyTarget, message: SentMessage): Promise<void>;
  /** Typing indicator; best effort, the platform shows it for a few seconds. */
  sendTyping(target: ReplyTarget): Promise<void>;
  /** A native stream for this target when the platform offers one and config allows it. */
  openNativeStream?(target: ReplyTarget): NativeStream | undefined;
}

/** Platform failures the StreamConsumer reacts to. */
export class FloodControlError extends Error {
  readonly code = 'flood_control';
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super(`Flood control: retry after ${retryAfterMs} ms`);
    this.retryAfterMs = retryAfterMs;
    this.name = 'FloodControlError';
  }
}

/** An edit that can never succeed (message deleted, too old): the consumer falls back to new messages. */
export class EditFailedError extends Error {
  readonly code = 'edit_failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EditFailedError';
  }
}
