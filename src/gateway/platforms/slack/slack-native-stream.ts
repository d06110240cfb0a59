/**
 * A reply streamed with Slack's native text streaming: `chat.startStream` on the first update,
 * `chat.appendStream` with only the new suffix on each later one, `chat.stopStream` (carrying the
 * last suffix) on finish. Streams are append-only: the StreamConsumer gives a native stream answer
 * text only (no cursor or tool-progress line; Slack shows its own "working" state), and if the reply
 * is ever rewritten rather than extended the stream is left as is and the final text is put in place
 * with `chat.update` after stopping. If Slack refuses to start a stream (method unavailable, missing
 * scope…) the platform is told to stop offering native streams and this reply carries on edit-based
 * (postMessage + update); an append that fails (e.g. the stream expired) switches to the same path.
 * Flood control is surfaced from `update` as FloodControlError and waited out inside `finish`. Text
 * past Slack's 40,000 limit is posted as further thread messages at the end. Pacing is the caller's job.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../../logger.ts';
import { EditFailedError, FloodControlError, type NativeStream } from '../../types.ts';
import { mapEditError, mapSendError, slackErrorName, toFloodControl } from './slack-errors.ts';
import { SLACK_MAX_MESSAGE_LENGTH, SLACK_STREAM_CHUNK_LENGTH } from './slack-limits.ts';
import { toSlackMrkdwn } from './slack-mrkdwn.ts';

export interface SlackNativeStreamOptions {
  client: WebClient;
  channel: string;
  /** Streams must reply in a thread: the mention's thread, or the DM message being answered. */
  threadTs: string;
  recipientUserId: string;
  recipientTeamId?: string;
  logger: Logger;
  /** Called once when chat.startStream is refused, so later replies use edit-based streaming. */
  onUnavailable(error: unknown): void;
}

/** How often `finish` waits out flood control before giving up. */
const FINISH_FLOOD_ATTEMPTS = 3;

export class SlackNativeStream implements NativeStream {
  readonly #o: SlackNativeStreamOptions;
  /** `stream`: a native stream (once `ts` is set); `edit`: a normal message posted and updated. */
  #mode: 'stream' | 'edit' = 'stream';
  #ts: string | undefined;
  /** Markdown appended to the stream so far, or the text last written in edit mode. */
  #shown = '';
  /** The reply stopped being an extension of what was streamed; fix up with chat.update at the end. */
  #diverged = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SlackNativeStreamOptions) {
    this.#o = options;
  }

  update(text: string): Promise<void> {
    return this.#serial(() => this.#show(headOf(text)));
  }

  finish(text: string): Promise<void> {
    return this.#serial(async () => {
      const head = headOf(text);
      await retryOnFlood(() => this.#complete(head));
      for (const piece of overflowOf(text)) {
        await retryOnFlood(() => this.#post(piece));
      }
    });
  }

  cancel(): Promise<void> {
    return this.#serial(async () => {
      if (this.#mode !== 'stream' || !this.#ts) return;
      try {
        await this.#o.client.chat.stopStream({ channel: this.#o.channel, ts: this.#ts });
      } catch (error) {
        this.#o.logger.warn({ event: 'slack.stream_stop_failed', err: error });
      }
    });
  }

  async #show(text: string): Promise<void> {
    if (text.length === 0) return;
    if (this.#mode === 'stream') {
      try {
        if (!this.#ts) return await this.#start(text);
        if (!text.startsWith(this.#shown)) {
          this.#diverged = true;
          return;
        }
        return await this.#append(text.slice(this.#shown.length));
      } catch (error) {
        const flood = toFloodControl(error);
        if (flood) throw flood;
        this.#toEditMode(error);
      }
    }
    await this.#edit(text);
  }

  async #start(text: string): Promise<void> {
    const [first = '', ...rest] = chunksOf(text);
    try {
      const started = await this.#o.client.chat.startStream({
        channel: this.#o.channel,
        thread_ts: this.#o.threadTs,
        recipient_user_id: this.#o.recipientUserId,
        ...(this.#o.recipientTeamId ? { recipient_team_id: this.#o.recipientTeamId } : {}),
        markdown_text: first,
      });
      if (!started.ts) throw new Error('chat.startStream returned no ts');
      this.#ts = started.ts;
      this.#shown = first;
    } catch (error) {
      // Slack answering `ok: false` (unknown_method, missing_scope…) will answer the same next time;
      // a network error or a 429 says nothing about later replies.
      if (slackErrorName(error) !== undefined && !toFloodControl(error)) this.#o.onUnavailable(error);
      throw error;
    }
    for (const chunk of rest) await this.#append(chunk);
  }

  async #append(suffix: string): Promise<void> {
    for (const chunk of chunksOf(suffix)) {
      await this.#o.client.chat.appendStream({
        channel: this.#o.channel,
        ts: this.#ts ?? '',
        markdown_text: chunk,
      });
      this.#shown += chunk;
    }
  }

  /** Ends the reply with `text` as the permanent content of the first message. */
  async #complete(text: string): Promise<void> {
    if (this.#mode === 'stream' && this.#ts) {
      try {
        if (!this.#diverged && text.startsWith(this.#shown)) {
          const chunks = chunksOf(text.slice(this.#shown.length));
          const last = chunks.pop();
          for (const chunk of chunks) await this.#append(chunk);
          await this.#o.client.chat.stopStream({
            channel: this.#o.channel,
            ts: this.#ts,
            ...(last ? { markdown_text: last } : {}),
          });
          this.#shown = text;
          return;
        }
        await this.#o.client.chat.stopStream({ channel: this.#o.channel, ts: this.#ts });
        this.#mode = 'edit';
      } catch (error) {
        if (toFloodControl(error)) throw error;
        this.#toEditMode(error);
      }
    } else if (this.#mode === 'stream') {
      // Finished before any update: nothing was streamed, so post the answer as a plain message.
      this.#mode = 'edit';
    }
    await this.#edit(text);
  }

  /** Edit mode: post the message once, then chat.update it; a message that cannot be edited is replaced. */
  async #edit(text: string): Promise<void> {
    if (this.#ts ? text === this.#shown : text.length === 0) return;
    if (!this.#ts) {
      this.#ts = await this.#post(text);
    } else {
      try {
        await this.#o.client.chat.update({
          channel: this.#o.channel,
          ts: this.#ts,
          text: toSlackMrkdwn(text),
        });
      } catch (error) {
        const mapped = mapEditError(error);
        if (!(mapped instanceof EditFailedError)) throw mapped;
        this.#ts = await this.#post(text);
      }
    }
    this.#shown = text;
  }

  async #post(text: string): Promise<string> {
    try {
      const posted = await this.#o.client.chat.postMessage({
        channel: this.#o.channel,
        thread_ts: this.#o.threadTs,
        text: toSlackMrkdwn(text),
      });
      return posted.ts ?? '';
    } catch (error) {
      throw mapSendError(error);
    }
  }

  #toEditMode(error: unknown): void {
    this.#o.logger.warn({ event: 'slack.stream_fallback', err: error });
    this.#mode = 'edit';
  }

  /** Calls run one at a time, in order, even if the caller does not await each one. */
  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** The part of the reply that fits in the first message. */
function headOf(text: string): string {
  return text.slice(0, cutAt(text, 0));
}

/** What does not fit in the first message, in message-sized pieces. */
function overflowOf(text: string): string[] {
  return piecesOf(text.slice(cutAt(text, 0)), SLACK_MAX_MESSAGE_LENGTH);
}

/** Splits text into pieces Slack accepts as one `markdown_text` (12,000 characters). */
function chunksOf(text: string): string[] {
  return piecesOf(text, SLACK_STREAM_CHUNK_LENGTH);
}

/** `text` cut into consecutive pieces of at most `max` UTF-16 units. */
function piecesOf(text: string, max: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; ) {
    const end = cutAt(text, start, max);
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

/** End of a piece starting at `start` of at most `max` UTF-16 units, never splitting a surrogate pair. */
function cutAt(text: string, start: number, max = SLACK_MAX_MESSAGE_LENGTH): number {
  let end = Math.min(text.length, start + max);
  const code = text.charCodeAt(end - 1);
  if (end < text.length && end - 1 > start && code >= 0xd800 && code <= 0xdbff) end -= 1;
  return end;
}

async function retryOnFlood(task: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await task();
      return;
    } catch (error) {
      const flood = error instanceof FloodControlError ? error : toFloodControl(error);
      if (!flood || attempt >= FINISH_FLOOD_ATTEMPTS) throw flood ?? error;
      await sleep(flood.retryAfterMs);
    }
  }
}
