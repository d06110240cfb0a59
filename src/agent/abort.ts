/**
 * Small helpers that make the run stop on time whatever a collaborator does: the error a cancelled run
 * ends with, and a race that stops waiting for a promise the moment the run's signal aborts (the model
 * client and tools are told through the same signal; this only guarantees the loop itself does not wait
 * for them to comply). Nothing here cancels work by itself.
 */
import { RunAbortedError } from '../model/index.ts';

/** The error a cancelled run reports: the abort reason when it already is one, a fresh one otherwise. */
export function abortError(signal: AbortSignal): RunAbortedError {
  return signal.reason instanceof RunAbortedError ? signal.reason : new RunAbortedError();
}

/** Resolves like `promise`, or rejects with `RunAbortedError` as soon as `signal` aborts. */
export async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const waits = new AbortableWaits(signal);
  try {
    return await waits.wait(promise);
  } finally {
    waits.dispose();
  }
}

/**
 * The race behind `untilAborted`, reusable for a loop of many waits on one signal: one abort listener
 * for all of them (adding and removing one per wait showed up once per streamed delta) and no reaction
 * left behind per wait (racing against one shared promise would keep them all until it settles). Call
 * `dispose` after.
 */
export class AbortableWaits {
  readonly #signal: AbortSignal;
  #rejectCurrent: ((error: unknown) => void) | undefined;
  readonly #onAbort = (): void => this.#rejectCurrent?.(abortError(this.#signal));

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Resolves like `promise`, or rejects with `RunAbortedError` as soon as the signal aborts. */
  wait<T>(promise: Promise<T>): Promise<T> {
    if (this.#signal.aborted) {
      // The losing promise may still reject later; it is observed here so it never goes unhandled.
      promise.catch(() => {});
      return Promise.reject(abortError(this.#signal));
    }
    return new Promise<T>((resolve, reject) => {
      this.#rejectCurrent = reject;
      promise.then(resolve, reject);
    });
  }

  dispose(): void {
    this.#rejectCurrent = undefined;
    this.#signal.removeEventListener('abort', this.#onAbort);
  }
}
