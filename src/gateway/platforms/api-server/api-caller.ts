/**
 * Who is calling: the API key a request authenticated with, as the owner id every stored object is
 * filed under, the key's name for the log line, and the models it may use. Owner ids are stable across
 * restarts and never contain the key: `key:<name>` for a named key (so the key itself can be rotated
 * under the same name), `sha256:<prefix>` of an unnamed key, `LOCAL_OWNER` on a server without keys.
 * The auth guard (security.ts) attaches the caller to the request; routes read it with `callerOf`.
 * It does not check keys; security.ts does.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { HeraldConfig } from '../../../config/schema.ts';
import { LOCAL_OWNER } from '../../../store/index.ts';

export interface ApiCaller {
  owner: string;
  /** The key's configured name; undefined for unnamed keys and keyless servers. */
  keyName: string | undefined;
  /** Profile (model) ids this key may use; undefined = all. */
  profiles: readonly string[] | undefined;
}

/** One configured key with the caller it authenticates. */
export interface ApiKeyEntry {
  key: string;
  caller: ApiCaller;
}

/** The caller of a server without keys. */
export const LOCAL_CALLER: ApiCaller = { owner: LOCAL_OWNER, keyName: undefined, profiles: undefined };

/** The configured keys (plain strings or `{name, key, profiles}`), each with its caller. */
export function apiKeyEntries(keys: HeraldConfig['api_server']['keys']): ApiKeyEntry[] {
  return keys.map((entry) =>
    typeof entry === 'string'
      ? {
          key: entry,
          caller: {
            // 16 bytes of a SHA-256: an owner id that cannot be turned back into the key.
            owner: `sha256:${createHash('sha256').update(entry).digest('hex').slice(0, 32)}`,
            keyName: undefined,
            profiles: undefined,
          },
        }
      : {
          key: entry.key,
          caller: { owner: `key:${entry.name}`, keyName: entry.name, profiles: entry.profiles },
        },
  );
}

const callers = new WeakMap<FastifyRequest, ApiCaller>();

export function setCaller(request: FastifyRequest, caller: ApiCaller): void {
  callers.set(request, caller);
}

/** The request's caller; the keyless owner when no key authenticated it (a server without keys). */
export function callerOf(request: FastifyRequest): ApiCaller {
  return callers.get(request) ?? LOCAL_CALLER;
}
