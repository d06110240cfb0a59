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
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The losing promise may still reject later; it is observed here so it never goes unhandled.
    promise.catch(() => {});
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
