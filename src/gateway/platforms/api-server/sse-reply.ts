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
