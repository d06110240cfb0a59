/**
 * Herald's structured logger (pino). One event name per line plus fields; secrets and message bodies
 * never go to info level. Lines go to stderr as JSON, or as coloured human-readable lines when the
 * format is `pretty` (or `auto` and stderr is a terminal; see pretty-log.ts). Components receive a
 * logger through their options; this module only builds it.
 */
import { pino } from 'pino';
import { prettyLogStream } from './pretty-log.ts';

export type Logger = pino.Logger;

export type LogFormat = 'auto' | 'pretty' | 'json';

/** Whether `format` means human-readable lines on an output that is (`auto`) or is not a terminal. */
export function usesPrettyLogs(format: LogFormat, isTerminal: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && isTerminal);
}

/**
 * The logger of a CLI command: `logging.level` (or the command's own default `level`), `debug` when
 * `--debug` was given, in the configured `logging.format`.
 */
export function commandLogger(
  logging: { level: string; format: LogFormat },
  options: { debug: boolean; level?: string },
): Logger {
  return createLogger(options.debug ? 'debug' : (options.level ?? logging.level), undefined, logging.format);
}

export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const terminal = process.stderr.isTTY === true;
  const pretty = usesPrettyLogs(format, terminal);
  const out = destination
    ? pretty
      ? prettyLogStream(destination, false)
      : destination
    : pretty
      ? prettyLogStream(process.stderr, terminal)
      : pino.destination(2);
  return pino(
    {
      level,
      base: { service: 'herald' },
      redact: {
        // Both top-level and one level down: pino's `*.x` does not match a field `x` of the log object itself.
        paths: secretFields.flatMap((field) => [field, `*.${field}`]).concat('*.headers.authorization'),
        censor: '[redacted]',
      },
    },
    out,
  );
}

/** Field names whose values never reach a log line. */
const secretFields = ['authorization', 'api_key', 'apiKey', 'token', 'key'];

/** A logger that drops everything, for tests and one-shot CLI runs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
