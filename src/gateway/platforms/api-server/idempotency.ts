/**
 * `Idempotency-Key` for non-streamed POSTs: a retry with the same key and the same body gets the first
 * result (status, body) without a second agent run; the same key with a different body is a 409; a
 * duplicate arriving while the first is still running waits for it. Results are kept for a day, scoped
 * by the caller's owner id (its API key) so one key cannot replay another's result: in memory (bounded
 * count) on a single server, or in the store when replicas share one (`shared`), so a retry landing on
 * another replica gets the first result too. Failures (5xx, or a first request that never completed)
 * are not kept, so a retry runs again. Streamed requests are not covered: a stream cannot be replayed
 * faithfully.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../../logger.ts';
import type { IdempotencyStore, IdempotentResult } from '../../../store/index.ts';
import { callerOf } from './api-caller.ts';
import { ApiError } from './errors.ts';

type StoredResult = IdempotentResult;

interface Entry {
  bodyHash: string;
  createdAt: number;
  /** Resolves with the stored result, or undefined when the first request failed/vanished. */
  result: Promise<StoredResult | undefined>;
}

export interface IdempotencyOptions {
  ttlMs?: number;
  maxEntries?: number;
  /** Keep results in the store replicas share, instead of this process's memory. */
  shared?: { store: IdempotencyStore; logger: Logger } | undefined;
}

/** How often a duplicate asks the shared store whether the first request (maybe on another replica) ended. */
const SHARED_POLL_MS = 200;
const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

type Settle = WeakMap<FastifyRequest, (result: StoredResult | undefined) => void>;

const hash = (value: string): string => createHash('sha256').update(value).digest('hex');

export function installIdempotency(app: FastifyInstance, options: IdempotencyOptions = {}): void {
  const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  const settle: Settle = new WeakMap();
  if (options.shared) installSharedClaims(app, settle, options.shared, ttlMs);
  else installMemoryClaims(app, settle, ttlMs, options.maxEntries ?? 1_000);

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

function installMemoryClaims(app: FastifyInstance, settle: Settle, ttlMs: number, maxEntries: number): void {
  const entries = new Map<string, Entry>();
  const prune = (now: number) => {
    for (const [key, entry] of entries) {
      if (now - entry.createdAt <= ttlMs && entries.size <= maxEntries) break;
      entries.delete(key);
    }
  };

  app.addHook('preHandler', async (request, reply) => {
    const key = idempotencyKeyOf(request);
    if (key === undefined) return;
    const now = Date.now();
    prune(now);
    const bodyHash = hash(JSON.stringify(request.body ?? null));
    const existing = entries.get(key);
    if (existing) {
      if (existing.bodyHash !== bodyHash) throw reusedKey();
      const stored = await existing.result;
      if (stored) return replay(reply, stored);
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
}

/**
 * The first request claims the key in the shared store; a duplicate on any replica replays the kept
 * result, or asks again while the first still runs (the store hands over a claim whose replica died).
 * Failing to keep a result is logged, not fatal: the answer itself was already produced.
 */
function installSharedClaims(
  app: FastifyInstance,
  settle: Settle,
  shared: { store: IdempotencyStore; logger: Logger },
  ttlMs: number,
): void {
  app.addHook('preHandler', async (request, reply) => {
    const key = idempotencyKeyOf(request);
    if (key === undefined) return;
    const bodyHash = hash(JSON.stringify(request.body ?? null));
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    for (;;) {
      const claim = await shared.store.claim(key, bodyHash, ttlMs);
      if (claim.state === 'conflict') throw reusedKey();
      if (claim.state === 'done') return replay(reply, claim.result);
      if (claim.state === 'claimed') break;
      await sleep(SHARED_POLL_MS, undefined, { signal: gone.signal });
    }
    let settled = false;
    const resolve = (result: StoredResult | undefined): void => {
      if (settled) return;
      settled = true;
      const keep = result ? shared.store.complete(key, result) : shared.store.release(key);
      keep.catch((error: unknown) =>
        shared.logger.warn(
          { event: 'api.idempotency_store_failed', err: error },
          'could not keep an Idempotency-Key result',
        ),
      );
    };
    settle.set(request, resolve);
    // A request that ends without an answer (client gone) gives the key up, so a retry runs afresh.
    reply.raw.once('close', () => resolve(undefined));
  });
}

/** The key a request's result is kept under (owner, route, client key), or undefined when not covered. */
function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const idempotencyKey = request.headers['idempotency-key'];
  if (request.method !== 'POST' || typeof idempotencyKey !== 'string' || idempotencyKey === '') return;
  const body = request.body as { stream?: unknown } | undefined;
  if (body?.stream === true) return;
  return hash(`${callerOf(request).owner}\n${request.routeOptions.url ?? request.url}\n${idempotencyKey}`);
}

function reusedKey(): ApiError {
  return new ApiError(
    409,
    'This Idempotency-Key was already used with a different request body. Use a new key for a new request.',
    { type: 'conflict_error', code: 'idempotency_key_reused' },
  );
}

function replay(reply: FastifyReply, stored: StoredResult): FastifyReply {
  reply.code(stored.status).header('idempotent-replayed', 'true');
  if (stored.contentType) reply.header('content-type', stored.contentType);
  return reply.send(stored.payload);
}
