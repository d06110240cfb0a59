/**
 * `Idempotency-Key` for non-streamed POSTs: a retry with the same key and the same body gets the first
 * result (status, body) without a second agent run; the same key with a different body is a 409; a
 * duplicate arriving while the first is still running waits for it. Results live in memory for a day
 * (bounded count), scoped by the caller's owner id (its API key) so one key cannot replay another's result.
 * Failures (5xx, or a first request that never completed) are not kept, so a retry runs again.
 * Streamed requests are not covered: a stream cannot be replayed faithfully.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callerOf } from './api-caller.ts';
import { ApiError } from './errors.ts';

interface StoredResult {
  status: number;
  contentType: string | undefined;
  payload: string;
}

interface Entry {
  bodyHash: string;
  createdAt: number;
  /** Resolves with the stored result, or undefined when the first request failed/vanished. */
  result: Promise<StoredResult | undefined>;
}

export interface IdempotencyOptions {
  ttlMs?: number;
  maxEntries?: number;
}

const hash = (value: string): string => createHash('sha256').update(value).digest('hex');

export function installIdempotency(app: FastifyInstance, options: IdempotencyOptions = {}): void {
  const ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
  const maxEntries = options.maxEntries ?? 1_000;
  const entries = new Map<string, Entry>();
  const settle = new WeakMap<FastifyRequest, (result: StoredResult | undefined) => void>();

  const prune = (now: number) => {
    for (const [key, entry] of entries) {
      if (now - entry.createdAt <= ttlMs && entries.size <= maxEntries) break;
      entries.delete(key);
    }
  };

  app.addHook('preHandler', async (request, reply) => {
    const idempotencyKey = request.headers['idempotency-key'];
    if (request.method !== 'POST' || typeof idempotencyKey !== 'string' || idempotencyKey === '') return;
    const body = request.body as { stream?: unknown } | undefined;
    if (body?.stream === true) return;
    const now = Date.now();
    prune(now);
    const key = hash(
      `${callerOf(request).owner}\n${request.routeOptions.url ?? request.url}\n${idempotencyKey}`,
    );
    const bodyHash = hash(JSON.stringify(request.body ?? null));
    const existing = entries.get(key);
    if (existing) {
      if (existing.bodyHash !== bodyHash) {
        throw new ApiError(
          409,
          'This Idempotency-Key was already used with a different request body. Use a new key for a new request.',
          { type: 'conflict_error', code: 'idempotency_key_reused' },
        );
      }
      const stored = await existing.result;
      if (stored) {
        reply.code(stored.status).header('idempotent-replayed', 'true');
        if (stored.contentType) reply.header('content-type', stored.contentType);
        return reply.send(stored.payload);
      }
      // The first request did not produce a keepable result: run this one as a fresh attempt.
    }
    let resolve!: (result: StoredResult | undefined) => void;
    const result = new Promise<StoredResult | undefined>((r) => {
      resolve = r;
    });
    entries.set(key, { bodyHash, createdAt: now, result });
    result.then((stored) => {
      if (!stored && entries.get(key)?.result === result) entries.delete(key);
    });
    settle.set(request, resolve);
    // Whatever happens to the response, waiters must not hang on it.
    reply.raw.once('close', () => resolve(undefined));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const resolve = settle.get(request);
    if (!resolve) return payload;
    settle.delete(request);
    const status = reply.statusCode;
    if (status >= 500 || typeof payload !== 'string') resolve(undefined);
    else resolve({ status, contentType: reply.getHeader('content-type') as string | undefined, payload });
    return payload;
  });
}
