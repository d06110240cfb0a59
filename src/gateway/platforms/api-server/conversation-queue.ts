/**
 * Serialises work per conversation: runs with the same key execute one after the other in arrival
 * order (FIFO), never interleaved, so no turn of a conversation is lost or read half-written; runs with
 * different keys proceed in parallel. A failed run does not block the ones behind it. With a shared
 * store, each run also holds the store's `TurnLock` for its key, so replicas serialise too (in this
 * process FIFO; across replicas in the order they get the lock). It knows nothing of agents or HTTP;
 * callers pass any async function.
 */
import type { TurnLock } from '../../../store/index.ts';

export class ConversationQueue {
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #lock: TurnLock | undefined;

  constructor(options: { lock?: TurnLock | undefined } = {}) {
    this.#lock = options.lock;
  }

  /** Runs `fn` after every earlier `run` with the same key has settled (and, shared, under its lock). */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const lock = this.#lock;
    const locked = lock ? () => lock.hold(key, fn) : fn;
    const result = previous.then(locked, locked);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    // Forget the key once nothing is queued behind this run, so the map does not grow forever.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Number of keys with work queued or running (for tests and status). */
  get size(): number {
    return this.#tails.size;
  }
}
