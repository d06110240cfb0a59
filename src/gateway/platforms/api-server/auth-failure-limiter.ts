/**
 * Brute-force throttling of API keys: a client address that sent `auth_failures.max` wrong keys within
 * the last `window_s` seconds (a sliding window) gets 429 + Retry-After for every request that needs a
 * key — right key or not, so guessing cannot go on at full speed — until its oldest counted failure ages
 * out. Other addresses are unaffected, and a success does not wipe the count (that would let whoever
 * holds one valid key reopen the window for guesses from the same address). Unauthenticated answers
 * close their connection, so a client cannot keep a socket by dribbling a body after its 401. The key
 * check itself stays in security.ts, which asks this module before checking a key and reports each wrong
 * one, for HTTP requests and WebSocket upgrades alike.
 */
import type { HeraldConfig } from '../../../config/schema.ts';
import { ApiError } from './errors.ts';

/** Addresses remembered at most; past it the least recently failing one is forgotten. */
const MAX_TRACKED_CLIENTS = 10_000;

export class AuthFailureLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Per client, the times of its last `max` failures, oldest first; Map order = least recent first. */
  readonly #failures = new Map<string, number[]>();

  constructor(options: { max: number; windowMs: number; now?: () => number }) {
    this.#max = options.max;
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
  }

  /** Seconds until `client` may try again; 0 when it may now. */
  retryAfterSeconds(client: string): number {
    const times = this.#failures.get(client);
    if (!times) return 0;
    const now = this.#now();
    if (times.at(-1)! + this.#windowMs <= now) {
      this.#failures.delete(client);
      return 0;
    }
    const until = times[0]! + this.#windowMs;
    if (times.length < this.#max || until <= now) return 0;
    return Math.ceil((until - now) / 1000);
  }

  recordFailure(client: string): void {
    const times = this.#failures.get(client) ?? [];
    this.#failures.delete(client);
    times.push(this.#now());
    if (times.length > this.#max) times.shift();
    this.#failures.set(client, times);
    if (this.#failures.size > MAX_TRACKED_CLIENTS) {
      const leastRecent = this.#failures.keys().next().value;
      if (leastRecent !== undefined) this.#failures.delete(leastRecent);
    }
  }
}

/** The throttle `api_server.auth_failures` asks for, or undefined when it is off or there are no keys. */
export function authFailureLimiterFor(config: HeraldConfig['api_server']): AuthFailureLimiter | undefined {
  const { max, window_s } = config.auth_failures;
  return config.keys.length > 0 && max > 0
    ? new AuthFailureLimiter({ max, windowMs: window_s * 1000 })
    : undefined;
}

/** The 429 an address past its wrong-key budget gets, whatever key it sends now. */
export function tooManyAuthFailures(wait: number): ApiError {
  return new ApiError(
    429,
    `Too many requests with a wrong API key from this address. Try again in ${wait}s.`,
    {
      type: 'rate_limit_error',
      code: 'too_many_auth_failures',
      headers: { 'retry-after': String(wait), connection: 'close' },
    },
  );
}
