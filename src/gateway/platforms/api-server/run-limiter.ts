/**
 * Bounds the number of agent runs in flight across the whole API server (`api_server.max_concurrent_runs`).
 * Past the bound a request is refused at once with 429 + Retry-After rather than queued, so an overloaded
 * server sheds load instead of building an unbounded backlog. It does not order runs; ConversationQueue does.
 */
import { ApiError } from './errors.ts';

export class RunLimiter {
  readonly #max: number;
  readonly #retryAfterSeconds: number;
  #active = 0;

  constructor(options: { maxConcurrentRuns: number; retryAfterSeconds?: number }) {
    this.#max = options.maxConcurrentRuns;
    this.#retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }

  get active(): number {
    return this.#active;
  }

  /** Takes a slot or throws ApiError 429; the returned release function is idempotent. */
  acquire(): () => void {
    if (this.#active >= this.#max) {
      throw new ApiError(
        429,
        `Too many concurrent runs (limit ${this.#max}). Please try again in ${this.#retryAfterSeconds}s.`,
        {
          type: 'rate_limit_error',
          code: 'rate_limit_exceeded',
          headers: { 'retry-after': String(this.#retryAfterSeconds) },
        },
      );
    }
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
    };
  }
}
