/**
 * Bounds the agent runs in flight across the whole API server (`api_server.max_concurrent_runs`), with a
 * short bounded queue in front: past the bound up to `max_queued_runs` requests wait, first come first
 * served, for at most `queue_timeout_s`, so a burst is served instead of refused. A full queue or an
 * expired wait is a 429 with Retry-After — the server sheds load rather than building a backlog; a
 * waiter whose client leaves drops out; `close()` (shutdown) refuses every waiter with 503. It does not
 * order runs of one conversation; ConversationQueue does.
 */
import { ApiError, shuttingDown } from './errors.ts';

export interface RunLimiterOptions {
  maxConcurrentRuns: number;
  /** Requests that may wait for a slot; 0 = refuse at once past the bound. */
  maxQueuedRuns?: number;
  queueTimeoutMs?: number;
  retryAfterSeconds?: number;
}

interface Waiter {
  grant(release: () => void): void;
  fail(error: unknown): void;
}

export class RunLimiter {
  readonly #max: number;
  readonly #maxQueued: number;
  readonly #queueTimeoutMs: number;
  readonly #retryAfterSeconds: number;
  readonly #waiting: Waiter[] = [];
  #active = 0;
  #closed = false;

  constructor(options: RunLimiterOptions) {
    this.#max = options.maxConcurrentRuns;
    this.#maxQueued = options.maxQueuedRuns ?? 0;
    this.#queueTimeoutMs = options.queueTimeoutMs ?? 30_000;
    this.#retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }

  /** Runs holding a slot. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with an idempotent release function once a slot is held. Rejects with a 429 when the
   * queue is full or the wait times out, with `signal`'s reason when it aborts while waiting, and with
   * a 503 once the limiter is closed.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.#closed) return Promise.reject(shuttingDown());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.#max) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.#maxQueued) {
      return Promise.reject(
        this.#refusal(`Too many concurrent runs: ${this.#max} running and ${this.#maxQueued} waiting.`),
      );
    }
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.#waiting.indexOf(waiter);
        if (index >= 0) this.#waiting.splice(index, 1);
      };
      const waiter: Waiter = {
        grant: (release) => {
          settle();
          resolve(release);
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(signal?.reason);
      const timer = setTimeout(
        () =>
          waiter.fail(
            this.#refusal(
              `No run slot became free within ${this.#queueTimeoutMs / 1000}s (${this.#max} runs at once).`,
            ),
          ),
        this.#queueTimeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Refuses every waiter and every later acquire with 503 (the server is shutting down). */
  close(): void {
    this.#closed = true;
    for (const waiter of [...this.#waiting]) waiter.fail(shuttingDown());
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the longest waiter, so a newcomer cannot overtake the queue.
      const next = this.#waiting[0];
      if (next) next.grant(this.#releaser());
      else this.#active--;
    };
  }

  #refusal(reason: string): ApiError {
    return new ApiError(429, `${reason} Please try again in ${this.#retryAfterSeconds}s.`, {
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
      headers: { 'retry-after': String(this.#retryAfterSeconds) },
    });
  }
}
