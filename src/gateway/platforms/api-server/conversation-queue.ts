/**
 * Serialises work per conversation: runs with the same key execute one after the other in arrival
 * order (FIFO), never interleaved, so no turn of a conversation is lost or read half-written; runs with
 * different keys proceed in parallel. A failed run does not block the ones behind it. It knows nothing
 * of agents or HTTP; callers pass any async function.
 */
export class ConversationQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier `run` with the same key has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
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
