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
  platform: 'telegram' | 'discord' | 'slack' | 'whatsapp' | 'email' | 'dingtalk' | 'matrix' | 'mattermost';
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
  /**
   * false: a reply can be shown only once complete (email; DingTalk without AI cards), so it is sent
   * once at the end whatever `streaming.enabled` says. Unset: true.
   */
  streams?: boolean;
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
  /**
   * true: a sender not on the allow-list gets no refusal reply (email: answering strangers would make
   * the bot a backscatter source and confirm the address exists). Unset: false.
   */
  readonly silentRefusals?: boolean;
  /**
   * true: every replica of a shared store may connect it at once (Telegram webhooks: Telegram posts
   * each update once, through the load balancer, to one of them). Unset: one replica at a time, the
   * holder of the platform's leader lease, connects it (a second long-polling connection would steal
   * or duplicate updates).
   */
  readonly everyReplica?: boolean;
  /** A native stream for this target when the platform offers one and config allows it. */
  openNativeStream?(target: ReplyTarget): NativeStream | undefined;
  /**
   * Sends an approval prompt with answer buttons tied to `requestId`: once / session / always / deny
   * for a tool call, let in (`once`) / refuse (`deny`) for a pairing code (on WhatsApp, numbered choices
   * answered by a reply). Platforms without it cannot ask, and calls that need approval are refused there.
   */
  sendApprovalPrompt?(
    target: ReplyTarget,
    text: string,
    requestId: string,
    kind: 'tool' | 'pairing',
  ): Promise<SentMessage>;
  /** Registered by the gateway: a button press (or numbered reply) on a prompt; resolves with what to tell the presser. */
  onApprovalAnswer?(handler: (answer: ApprovalAnswer) => Promise<ApprovalAnswerResult>): void;
  /** Replaces a prompt's text and removes its buttons; without it the gateway uses `edit`. */
  closeApprovalPrompt?(target: ReplyTarget, prompt: SentMessage, text: string): Promise<void>;
}

const approvalDecisions: ReadonlySet<string> = new Set(['once', 'session', 'always', 'deny']);

/** Reads a decision back from a button's data. */
export function isApprovalDecision(value: string): value is ApprovalAnswer['decision'] {
  return approvalDecisions.has(value);
}

/** How a button press went: `accepted` false for a press by someone else or on a settled prompt. */
export interface ApprovalAnswerResult {
  accepted: boolean;
  /** A short notice for the presser (a Telegram toast, a Slack ephemeral message). */
  notice: string;
}

/** A press of an approval prompt's button. */
export interface ApprovalAnswer {
  requestId: string;
  decision: 'once' | 'session' | 'always' | 'deny';
  userId: string;
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
