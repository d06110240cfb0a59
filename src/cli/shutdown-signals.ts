/**
 * SIGTERM/SIGINT handling for `herald serve`: the first signal starts the graceful shutdown (the
 * promise resolves); a second one exits at once — running replies are cut — with one line on stderr and
 * 128 + the signal's number as exit code, the shell's convention. Listening starts when this is called,
 * so a signal during startup is not lost. It knows nothing of what is being shut down.
 */
import { constants } from 'node:os';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type ShutdownSignalName = (typeof SIGNALS)[number];

export interface ShutdownSignals {
  /** Resolves with the first signal. */
  readonly received: Promise<ShutdownSignalName>;
  /** Stops listening (the default action of a signal applies again). */
  dispose(): void;
}

export function listenForShutdownSignals(): ShutdownSignals {
  let first: ShutdownSignalName | undefined;
  const { promise: received, resolve } = Promise.withResolvers<ShutdownSignalName>();
  const onSignal = (signal: ShutdownSignalName): void => {
    if (first === undefined) {
      first = signal;
      resolve(signal);
      return;
    }
    process.stderr.write(`herald: second ${signal}: exiting now without waiting for running replies\n`);
    process.exit(128 + constants.signals[signal]);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return {
    received,
    dispose: () => {
      for (const signal of SIGNALS) process.off(signal, onSignal);
    },
  };
}
