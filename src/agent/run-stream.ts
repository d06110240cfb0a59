/**
 * The push stream one agent run returns: the loop pushes events as they happen, a consumer pulls them
 * with `for await` at its own pace (events queue, the loop never waits for the reader), and `result`
 * resolves with the run's last event whether or not anyone iterates. A consumer that stops iterating
 * early (`break`, a thrown error) cancels the run. It holds no run logic and is meant for one consumer.
 */
import type { AgentEndEvent, AgentEvent, AgentRun } from './types.ts';

export class RunStream implements AgentRun {
  readonly result: Promise<AgentEndEvent>;
  readonly #onCancel: () => void;
  readonly #queue: AgentEvent[] = [];
  #waiter: ((next: IteratorResult<AgentEvent>) => void) | undefined;
  #ended = false;
  #detached = false;
  #resolveResult!: (event: AgentEndEvent) => void;

  /** `onCancel` is called once if the consumer leaves before the run ended. */
  constructor(onCancel: () => void) {
    this.#onCancel = onCancel;
    this.result = new Promise((resolve) => {
      this.#resolveResult = resolve;
    });
  }

  /** Delivers an event; a `done`/`error` event ends the stream and settles `result`. */
  push(event: AgentEvent): void {
    if (this.#ended) return;
    if (event.type === 'done' || event.type === 'error') {
      this.#ended = true;
      this.#resolveResult(event);
    }
    if (this.#detached) return;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: event, done: false });
    } else {
      this.#queue.push(event);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    return {
      next: () => this.#next(),
      return: () => {
        this.#detach();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #next(): Promise<IteratorResult<AgentEvent>> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve({ value: queued, done: false });
    if (this.#ended || this.#detached) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /**
   * The consumer left: drop what is queued, settle a `next()` still waiting (nothing will ever push to
   * it now) and cancel the run if it is still going.
   */
  #detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#queue.length = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
    if (!this.#ended) this.#onCancel();
  }
}
