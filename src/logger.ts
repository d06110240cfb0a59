/**
 * Herald's structured logger (pino). One event name per line plus fields; secrets and message bodies
 * never go to info level. Components receive a logger through their options; this module only builds it.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'herald' },
      redact: {
        paths: ['*.authorization', '*.headers.authorization', '*.api_key', '*.apiKey', '*.token', '*.key'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination(2),
  );
}

/** A logger that drops everything, for tests and one-shot CLI runs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
