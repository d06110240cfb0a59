/**
 * A queue between a callback and a test: `push` (handed to e.g. a platform's `onMessage`) stores
 * each item, `next()` resolves with the oldest one, waiting for it if none has arrived yet. It has
 * no timeout of its own; the test runner's does.
 */
export class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];

  readonly push = (item: T): void => {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#items.push(item);
  };

  next(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
