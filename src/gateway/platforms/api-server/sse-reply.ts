/**
 * Turns a Fastify reply into an SSE stream: hijacks the reply (Fastify stops managing it) and opens an
 * `SseWriter` on the raw response carrying the headers hooks already set (x-request-id, CORS, session
 * ids), which a hijacked reply would otherwise drop. Shared by the chat and Responses routes.
 */
import type { FastifyReply } from 'fastify';
import { SseWriter } from './sse-writer.ts';

export function openSse(reply: FastifyReply, heartbeatMs: number): SseWriter {
  const headers = reply.getHeaders() as Record<string, string | number | string[] | undefined>;
  reply.hijack();
  return new SseWriter(reply.raw, { heartbeatMs, headers });
}

/**
 * An SSE response opened on demand: at the first frame, or after `openAfterMs` so heartbeats can flow
 * while a request waits (in its conversation's queue, for a slow upstream). Until it opens, the route can
 * still answer with an ordinary HTTP error status. `onOpen` writes the stream's first frame.
 */
export class LazySse {
  readonly #reply: FastifyReply;
  readonly #heartbeatMs: number;
  readonly #onOpen: (sse: SseWriter) => Promise<void>;
  #sse: SseWriter | undefined;
  #opening: Promise<SseWriter> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    reply: FastifyReply,
    options: { heartbeatMs: number; openAfterMs: number; onOpen: (sse: SseWriter) => Promise<void> },
  ) {
    this.#reply = reply;
    this.#heartbeatMs = options.heartbeatMs;
    this.#onOpen = options.onOpen;
    this.#timer = setTimeout(() => void this.open(), options.openAfterMs);
    this.#timer.unref();
  }

  /** The writer once opened, else undefined. */
  get opened(): SseWriter | undefined {
    return this.#sse;
  }

  open(): Promise<SseWriter> {
    this.#opening ??= (async () => {
      this.dispose();
      const sse = openSse(this.#reply, this.#heartbeatMs);
      this.#sse = sse;
      await this.#onOpen(sse);
      return sse;
    })();
    return this.#opening;
  }

  /** Cancels the pending open (the request ended without a stream). */
  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
