/**
 * Server-sent events on a raw Node response: frames written as they come, backpressure respected
 * (a write that fills the socket buffer waits for `drain`), comment heartbeats while nothing else is
 * sent, and client disconnect surfaced as an AbortSignal so the run behind the stream can be cancelled.
 * It knows nothing of OpenAI chunk shapes; the chat and responses routes build those.
 */
import type { ServerResponse } from 'node:http';

export interface SseWriterOptions {
  /** Heartbeat comment interval; 0 disables heartbeats. */
  heartbeatMs: number;
  /** Headers already decided for this response (CORS, x-request-id, session ids). */
  headers?: Record<string, string | number | string[] | undefined>;
}

export class SseWriter {
  readonly #res: ServerResponse;
  readonly #disconnect = new AbortController();
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #heartbeatMs: number;
  #ended = false;

  constructor(res: ServerResponse, options: SseWriterOptions) {
    this.#res = res;
    this.#heartbeatMs = options.heartbeatMs;
    res.on('close', () => {
      if (!res.writableFinished) this.#disconnect.abort();
      this.#stopHeartbeat();
    });
    const headers: Record<string, string | number | string[]> = {};
    for (const [k, v] of Object.entries(options.headers ?? {})) if (v !== undefined) headers[k] = v;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // No flushHeaders(): the headers leave with the first frame, which every route writes at once,
    // saving one socket write per stream.
    this.#armHeartbeat();
  }

  /** Aborted when the client goes away before the stream ended. */
  get disconnected(): AbortSignal {
    return this.#disconnect.signal;
  }

  get closed(): boolean {
    return this.#ended || this.#disconnect.signal.aborted;
  }

  /** Writes one `data:` frame (objects are JSON-encoded), optionally with `event:` and `id:` lines. */
  async send(data: unknown, event?: string, id?: string): Promise<void> {
    const payload = typeof data === 'string' ? data : JSON.stringify(data);
    await this.#write(`${id ? `id: ${id}\n` : ''}${event ? `event: ${event}\n` : ''}data: ${payload}\n\n`);
  }

  /** A comment frame; SSE parsers ignore it, proxies see traffic. */
  async comment(text: string): Promise<void> {
    await this.#write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopHeartbeat();
    if (!this.#res.destroyed) this.#res.end();
  }

  async #write(frame: string): Promise<void> {
    if (this.closed || this.#res.destroyed) return;
    this.#armHeartbeat();
    if (this.#res.write(frame)) return;
    // The socket buffer is full: wait until it drains or the client leaves, so a slow reader
    // slows the run down instead of growing our memory.
    await new Promise<void>((resolve) => {
      const done = () => {
        this.#res.off('drain', done);
        this.#res.off('close', done);
        resolve();
      };
      this.#res.on('drain', done);
      this.#res.on('close', done);
    });
  }

  #armHeartbeat(): void {
    if (this.#heartbeatMs <= 0 || this.#ended) return;
    // Every frame pushes the heartbeat back; refreshing one timer is far cheaper than a new one per frame.
    if (this.#heartbeat) {
      this.#heartbeat.refresh();
      return;
    }
    this.#heartbeat = setTimeout(() => {
      this.#heartbeat = undefined;
      void this.comment('keep-alive');
    }, this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}
