/**
 * Renders one agent reply on a chat platform as it is generated: the first message appears after a
 * few characters (or a second), then it is edited as text arrives, never more often than the
 * platform's edit interval (a slower one in group chats) and never with unchanged text. A cursor marks
 * a reply still growing, a `⚙ tool: args` line shows a running tool, and a typing indicator runs while
 * the agent works. Past the platform's length limit the current message is finalised and the reply
 * continues in a new one. Flood control pauses edits and coalesces what arrived meanwhile; a message
 * that can no longer be edited makes the rest arrive as new messages. The final render holds the
 * complete text, so what the user sees, concatenated, is exactly the streamed answer. Where the
 * adapter offers a native stream (Telegram drafts, Slack streams) it is used instead of send+edit,
 * with send+edit as the fallback; a native stream is given the answer text only, without cursor or
 * progress line.
 * It knows nothing of the agent: the gateway feeds it text and tool labels.
 */
import type { Logger } from '../../logger.ts';
import type { ChatPlatform, NativeStream, ReplyTarget, SentMessage } from '../types.ts';
import { EditFailedError, FloodControlError } from '../types.ts';
import { type Clock, sleep, systemClock, type TimerHandle } from './clock.ts';
import { openFenceCarry, type SplitSlice, splitMessageSlices } from './message-splitter.ts';
import type { StreamingSettings } from './streaming-settings.ts';

export type StreamTarget = Pick<
  ChatPlatform,
  'limits' | 'send' | 'edit' | 'delete' | 'sendTyping' | 'openNativeStream'
>;

export interface StreamConsumerOptions {
  platform: StreamTarget;
  target: ReplyTarget;
  settings: StreamingSettings;
  clock?: Clock;
  logger?: Logger;
}

type OpResult = 'ok' | 'flood' | 'edit-failed' | 'error';

/** What an intermediate render would do now. */
type Plan = { kind: 'show'; text: string } | { kind: 'split' } | { kind: 'none' };

/** Consecutive unexplained failures after which intermediate edits stop (the final render still runs). */
const maxIntermediateErrors = 3;
/** Flood-control waits tolerated for one final send/edit before giving up. */
const maxFinalAttempts = 10;

export class StreamConsumer {
  readonly #platform: StreamTarget;
  readonly #target: ReplyTarget;
  readonly #settings: StreamingSettings;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #startedAt: number;
  /** Group chats get the slower interval: Telegram's flood limit there is per chat (~20 edits/min). */
  readonly #editIntervalMs: number;

  /** Everything the agent has said so far. */
  #text = '';
  #progress: string | undefined;
  /** Offset in #text up to which content lives in finalised (earlier) messages. */
  #committed = 0;
  /** Fence line the current message starts with when a split fell inside a code block. */
  #carry = '';
  #current: SentMessage | undefined;
  /** The exact text last shown in the current message (or native stream). */
  #shown = '';
  /** Offset in #text of the end of what the current message shows, and the fence open there. */
  #shownEnd = 0;
  #shownCarry = '';
  #messagesSent = 0;
  #lastOpAt = Number.NEGATIVE_INFINITY;
  #pausedUntil = 0;
  #editsBroken = false;
  #errors = 0;
  #native: NativeStream | undefined;

  #pumping = false;
  #timer: TimerHandle | undefined;
  #typingTimer: TimerHandle | undefined;
  #finishRequested = false;
  #finished: PromiseWithResolvers<void> = Promise.withResolvers<void>();

  constructor(options: StreamConsumerOptions) {
    this.#platform = options.platform;
    this.#target = options.target;
    this.#settings = options.settings;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#startedAt = this.#clock.now();
    this.#editIntervalMs = this.#target.isPrivate
      ? this.#settings.editIntervalMs
      : (this.#settings.groupEditIntervalMs ?? this.#settings.editIntervalMs);
    if (this.#settings.enabled) this.#native = this.#platform.openNativeStream?.(this.#target);
  }

  /** Starts the typing indicator; call once when the agent run begins. */
  start(): void {
    this.#typing();
  }

  /** The complete text received so far. */
  get text(): string {
    return this.#text;
  }

  /** A text delta from the agent. Text resuming replaces any tool-progress line. */
  pushText(delta: string): void {
    if (!delta || this.#finishRequested) return;
    this.#text += delta;
    this.#progress = undefined;
    this.#wake();
  }

  /** A tool started: show its label (`terminal: ls -la`) until text resumes. */
  toolStarted(label: string): void {
    if (!this.#settings.toolProgress || !this.#settings.enabled || this.#finishRequested) return;
    this.#progress = label;
    this.#wake();
  }

  /**
   * Renders the complete reply (everything pushed so far) and stops the typing indicator. Resolves
   * once the last message is sent; rejects only if the platform keeps failing the final render.
   */
  finish(): Promise<void> {
    if (!this.#finishRequested) {
      this.#finishRequested = true;
      this.#progress = undefined;
      this.#wake();
    }
    return this.#finished.promise;
  }

  #typing(): void {
    if (this.#finishRequested) return;
    this.#platform.sendTyping(this.#target).catch(() => {});
    this.#typingTimer = this.#clock.setTimeout(() => this.#typing(), this.#settings.typingIntervalMs);
  }

  /**
   * Re-plans after a change. While an edit is already scheduled, new text cannot make it due sooner
   * (only the first send can be), so the render is left to that timer: planning costs a pass over the
   * pending text, which would otherwise happen on every token.
   */
  #wake(): void {
    if (this.#pumping) return;
    const waitingForFirst = this.#shown === '' && this.#messagesSent === 0;
    if (this.#timer !== undefined && !waitingForFirst && !this.#finishRequested) return;
    void this.#pump();
  }

  /** The one loop that talks to the platform, so operations never overlap or reorder. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (true) {
        if (this.#timer !== undefined) {
          this.#clock.clearTimeout(this.#timer);
          this.#timer = undefined;
        }
        if (this.#finishRequested) {
          await this.#renderFinal().then(this.#finished.resolve, this.#finished.reject);
          return;
        }
        const due = this.#dueIn();
        if (due === Number.POSITIVE_INFINITY) return;
        if (due > 0) {
          this.#timer = this.#clock.setTimeout(() => {
            this.#timer = undefined;
            this.#wake();
          }, due);
          return;
        }
        await this.#renderIntermediate();
      }
    } finally {
      this.#pumping = false;
    }
  }

  #count(text: string): number {
    return this.#platform.limits.countLength(text);
  }

  #input(): string {
    return this.#carry + this.#text.slice(this.#committed);
  }

  #plan(): Plan {
    const input = this.#input();
    const max = this.#platform.limits.maxMessageLength;
    if (this.#native) {
      // A native stream gets the answer only, never the cursor or tool-progress line: it shows its
      // own "working" state, and an append-only stream (Slack) could not take them back.
      if (!input.trim()) return { kind: 'none' };
      if (this.#count(input) <= max) return { kind: 'show', text: input };
      // A draft is one preview: show the tail; the final render sends every chunk.
      const slices = this.#split(input);
      return { kind: 'show', text: slices[slices.length - 1]!.text };
    }
    let text = input.trim() ? input + this.#settings.cursor : '';
    if (this.#progress) text += `${text ? '\n\n' : ''}⚙ ${this.#progress}`;
    if (!text) return { kind: 'none' };
    if (this.#count(text) <= max) return { kind: 'show', text };
    if (this.#count(input) <= max) return { kind: 'show', text: input };
    return { kind: 'split' };
  }

  /** Milliseconds until the next intermediate render is due; Infinity when there is nothing to do. */
  #dueIn(): number {
    if (!this.#settings.enabled || this.#editsBroken) return Number.POSITIVE_INFINITY;
    const plan = this.#plan();
    if (plan.kind === 'none' || (plan.kind === 'show' && plan.text === this.#shown))
      return Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let earliest: number;
    if (this.#shown === '' && this.#messagesSent === 0) {
      // A progress line is worth showing at once, except in a native stream, which never shows one.
      const ready =
        this.#text.length - this.#committed >= this.#settings.firstChunkChars ||
        (this.#progress !== undefined && !this.#native);
      earliest = ready ? now : this.#startedAt + this.#settings.firstChunkDelayMs;
    } else {
      earliest = this.#lastOpAt + this.#editIntervalMs;
    }
    return Math.max(0, Math.max(earliest, this.#pausedUntil) - now);
  }

  async #renderIntermediate(): Promise<void> {
    const plan = this.#plan();
    const textEnd = this.#text.length;
    const input = this.#input();
    if (plan.kind === 'none') return;
    if (plan.kind === 'show') {
      const native = this.#native;
      const result = native
        ? await this.#op(() => native.update(plan.text))
        : this.#current
          ? await this.#op(() => this.#platform.edit(this.#target, this.#current!, plan.text))
          : await this.#op(() => this.#sendNew(plan.text));
      if (result === 'ok') {
        this.#shown = plan.text;
        this.#shownEnd = input.trim() ? textEnd : this.#committed;
        this.#shownCarry = openFenceCarry(input.trim() ? input : this.#carry);
      } else if (native && result !== 'flood') {
        this.#logger?.warn({ event: 'native_stream_failed' }, 'native stream failed; falling back to edits');
        this.#native = undefined;
        this.#shown = '';
      } else if (result === 'edit-failed') {
        this.#editFailed();
      }
      return;
    }
    // Too long for one message: finalise the current message with the first chunk, continue anew.
    const [first] = this.#split(input);
    const result = this.#current
      ? await this.#op(() => this.#platform.edit(this.#target, this.#current!, first!.text))
      : await this.#op(() => this.#sendNew(first!.text));
    if (result === 'ok') {
      this.#committed += first!.end - this.#carry.length;
      this.#carry = first!.carry;
      this.#current = undefined;
      this.#shown = '';
      this.#shownEnd = this.#committed;
      this.#shownCarry = this.#carry;
    } else if (result === 'edit-failed') {
      this.#editFailed();
    }
  }

  /**
   * The current message can no longer be edited (or the platform keeps failing): what it shows stays,
   * the rest of the reply goes to new messages at the end.
   */
  #editFailed(): void {
    this.#logger?.info(
      { event: 'stream_edit_failed' },
      'message can no longer be edited; sending the rest anew',
    );
    this.#committed = this.#shownEnd;
    this.#carry = this.#shownCarry;
    this.#current = undefined;
    this.#shown = '';
    this.#editsBroken = true;
  }

  async #sendNew(text: string): Promise<void> {
    const sent = await this.#platform.send(this.#target, text, { replyToInbound: this.#messagesSent === 0 });
    this.#messagesSent++;
    this.#current = sent;
  }

  /** Runs one platform call for an intermediate render, turning failures into a verdict. */
  async #op(call: () => Promise<void>): Promise<OpResult> {
    try {
      await call();
      this.#lastOpAt = this.#clock.now();
      this.#errors = 0;
      return 'ok';
    } catch (error) {
      this.#lastOpAt = this.#clock.now();
      if (error instanceof FloodControlError) {
        this.#pausedUntil = this.#clock.now() + error.retryAfterMs;
        this.#logger?.info(
          { event: 'stream_flood_control', retryAfterMs: error.retryAfterMs },
          'edits paused',
        );
        return 'flood';
      }
      if (error instanceof EditFailedError) return 'edit-failed';
      this.#logger?.warn({ event: 'stream_render_failed', err: error }, 'streaming render failed');
      if (++this.#errors >= maxIntermediateErrors) this.#editFailed();
      return 'error';
    }
  }

  /** Retries a final send/edit through flood control; other errors propagate. */
  async #retrying<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const wait = this.#pausedUntil - this.#clock.now();
      if (wait > 0) await sleep(this.#clock, wait);
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof FloodControlError) || attempt >= maxFinalAttempts) throw error;
        this.#pausedUntil = this.#clock.now() + error.retryAfterMs;
      }
    }
  }

  async #renderFinal(): Promise<void> {
    if (this.#typingTimer !== undefined) this.#clock.clearTimeout(this.#typingTimer);
    const native = this.#native;
    if (native) {
      try {
        if (this.#text.trim()) await this.#retrying(() => native.finish(this.#text));
        else await native.cancel();
        return;
      } catch (error) {
        if (error instanceof FloodControlError) throw error;
        // Nothing permanent was sent through the draft: deliver everything with plain sends.
        this.#logger?.warn({ event: 'native_stream_failed', err: error }, 'native finish failed; sending');
        this.#native = undefined;
      }
    }
    const slices = this.#finalSlices();
    if (this.#current && !this.#editsBroken) {
      const current = this.#current;
      if (slices.length === 0) {
        await this.#platform.delete(this.#target, current).catch(() => {});
        return;
      }
      const first = slices[0]!.text;
      try {
        if (first !== this.#shown)
          await this.#retrying(() => this.#platform.edit(this.#target, current, first));
        slices.shift();
      } catch (error) {
        if (!(error instanceof EditFailedError)) throw error;
        this.#editFailed();
        slices.splice(0, slices.length, ...this.#finalSlices());
      }
    }
    for (const slice of slices) {
      await this.#retrying(() => this.#sendNew(slice.text));
    }
  }

  #finalSlices(): Array<{ text: string }> {
    const input = this.#input();
    if (!input.trim()) return [];
    return this.#split(input).filter((slice) => slice.text.trim() !== '');
  }

  /** `text` cut into chunks that each fit one platform message. */
  #split(text: string): SplitSlice[] {
    const { maxMessageLength, countLength } = this.#platform.limits;
    return splitMessageSlices(text, { maxLength: maxMessageLength, countLength });
  }
}
