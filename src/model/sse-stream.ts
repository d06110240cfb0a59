/**
 * Decodes a streamed Chat Completions response body (server-sent events) into parsed JSON chunks, with
 * the same rules as the `openai` SDK's `Stream` (stop at `[DONE]`, malformed JSON is an error, an
 * `error` event or an `error` field in a chunk becomes an `APIError`), but without its per-event
 * layers of async generators, byte buffers and line decoders: that parsing was the largest part of
 * Herald's CPU time per streamed request. It does not send requests, retry or map errors.
 */
import type { IncomingMessage } from 'node:http';
import { APIError } from 'openai/error';
import { nodeBodyOf } from './node-http-fetch.ts';

/** One server-sent event: its `event:` name (if any) and its `data:` lines joined by newlines. */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * Incremental SSE parser over text. Lines end in `\n`, `\r\n` or `\r`; a blank line dispatches the
 * event; `:` lines are comments. Fields other than `event` and `data` are ignored.
 */
export class SseParser {
  #buffer = '';
  #event: string | undefined;
  #data: string[] = [];

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): SseEvent[] {
    const buffer = this.#buffer + text;
    const events: SseEvent[] = [];
    let start = 0;
    // Where the next `\r` is, searched again only once passed, so a chunk of many lines stays O(n).
    let cr = buffer.indexOf('\r');
    for (;;) {
      if (cr !== -1 && cr < start) cr = buffer.indexOf('\r', start);
      const lf = buffer.indexOf('\n', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A trailing `\r` may be the first half of `\r\n`: wait for more text.
        if (cr === buffer.length - 1) break;
        end = cr;
        next = buffer.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      const event = this.#line(buffer.slice(start, end));
      if (event) events.push(event);
      start = next;
    }
    this.#buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  /** At end of input: the last line and an event left without its closing blank line (servers omit it). */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.#buffer) {
      const rest = this.#buffer.endsWith('\r') ? this.#buffer.slice(0, -1) : this.#buffer;
      this.#buffer = '';
      const event = this.#line(rest);
      if (event) events.push(event);
    }
    const pending = this.#line('');
    if (pending) events.push(pending);
    return events;
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.#event === undefined && this.#data.length === 0) return undefined;
      const event = { event: this.#event, data: this.#data.join('\n') };
      this.#event = undefined;
      this.#data = [];
      return event;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32 /* ' ' */) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    return undefined;
  }
}

/** Text of a response body, piece by piece; `close` releases it early or after `[DONE]`. */
interface TextSource {
  next(): Promise<string | undefined>;
  /** `afterDone`: the stream said `[DONE]`, so its end is expected at once. */
  close(afterDone: boolean): void;
}

/** How long a body may stay open after `[DONE]` before we drop it. */
const AFTER_DONE_GRACE_MS = 5_000;

/**
 * The JSON chunks of a streamed response, in order. Ends at `[DONE]` or at the end of the body;
 * leaving early cancels the body. Read errors (abort, broken connection) propagate unchanged for the
 * caller to classify. Reads the Node stream directly when node-http-fetch.ts made the response.
 */
export async function* sseJsonChunks<T>(response: Response): AsyncGenerator<T> {
  const node = nodeBodyOf(response);
  const source = node ? nodeTextSource(node) : webTextSource(response);
  const parser = new SseParser();
  let finished = false;
  let sawDone = false;
  try {
    for (;;) {
      const text = await source.next();
      const events = text === undefined ? parser.end() : parser.push(text);
      for (const sse of events) {
        if (sse.data === '[DONE]') {
          sawDone = true;
          return;
        }
        const chunk = parseChunk(sse, response.headers);
        if (chunk !== undefined) yield chunk as T;
      }
      if (text === undefined) {
        finished = true;
        return;
      }
    }
  } finally {
    if (!finished) source.close(sawDone);
  }
}

function webTextSource(response: Response): TextSource {
  const body = response.body;
  if (!body) throw new Error('Attempted to iterate over a response with no body');
  const reader = body.getReader();
  const decoder = new TextDecoder();
  return {
    async next() {
      const { done, value } = await reader.read();
      return done ? undefined : decoder.decode(value, { stream: true });
    },
    close(afterDone) {
      const cancel = (): void => {
        reader.cancel().catch(() => {});
      };
      if (afterDone) drainAfterDone(() => reader.read(), cancel);
      else cancel();
    },
  };
}

function nodeTextSource(res: IncomingMessage): TextSource {
  res.setEncoding('utf8');
  // Not destroyed when we stop at `[DONE]`: the rest is drained so the socket goes back to the pool.
  const pieces = res.iterator({ destroyOnReturn: false });
  return {
    async next() {
      const { done, value } = await pieces.next();
      return done ? undefined : (value as string);
    },
    close(afterDone) {
      if (afterDone)
        drainAfterDone(
          () => pieces.next(),
          () => res.destroy(),
        );
      else res.destroy();
    },
  };
}

/**
 * After `[DONE]` the body almost always ends at once. Reading that end, instead of cancelling, keeps the
 * connection reusable and skips an AbortError per request; a server that keeps the stream open anyway is
 * cut off (`cancel`) after a grace period.
 */
function drainAfterDone(read: () => Promise<{ done?: boolean }>, cancel: () => void): void {
  const guard = setTimeout(cancel, AFTER_DONE_GRACE_MS);
  guard.unref();
  const drain = (): void => {
    read().then(
      ({ done }) => (done ? clearTimeout(guard) : drain()),
      () => clearTimeout(guard),
    );
  };
  drain();
}

/** One event's JSON, or the upstream error it carries; undefined for events that are not chunks. */
function parseChunk(sse: SseEvent, headers: Headers): unknown {
  let data: unknown;
  try {
    data = JSON.parse(sse.data);
  } catch {
    throw new SyntaxError('Error reading response: malformed server-sent event JSON.');
  }
  // Assistants-API events never belong in a Chat Completions stream; skip rather than misread them.
  if (sse.event?.startsWith('thread.')) return undefined;
  const error = data && typeof data === 'object' && 'error' in data ? data.error : undefined;
  if (sse.event === 'error') {
    throw new APIError(undefined, (error ?? data) as object | undefined, undefined, headers);
  }
  if (error) throw new APIError(undefined, error as object, undefined, headers);
  return data;
}
