/**
 * The human-readable log format (`logging.format: pretty`, or `auto` on a terminal): pino's JSON
 * lines turned into one short line each — local time, level, event, message, then the other fields as
 * `key=value` — coloured when the output is a terminal; an error's stack follows on its own lines.
 * It formats only: which fields exist, and that secrets never reach them, is the logger's business.
 */

const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '36' },
  30: { name: 'INFO', colour: '32' },
  40: { name: 'WARN', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '35' },
};

/** Fields every line has or that the line's head already shows. */
const HEAD_FIELDS = new Set(['time', 'level', 'pid', 'hostname', 'service', 'event', 'msg', 'err']);

/** Formats one pino record; `colours` adds ANSI colours. No trailing newline. */
export function formatLogRecord(record: Record<string, unknown>, colours: boolean): string {
  const paint = (code: string, text: string) => (colours ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level = LEVELS[Number(record['level'])] ?? { name: String(record['level']), colour: '0' };
  const time = typeof record['time'] === 'number' ? clockTime(new Date(record['time'])) : '';
  const head = [
    paint('90', time),
    paint(level.colour, level.name.padEnd(5)),
    ...(typeof record['event'] === 'string' ? [paint('1', record['event'])] : []),
    ...(typeof record['msg'] === 'string' && record['msg'] !== '' ? [record['msg']] : []),
  ];
  const fields = Object.entries(record)
    .filter(([key, value]) => !HEAD_FIELDS.has(key) && value !== undefined)
    .map(([key, value]) => `${paint('90', `${key}=`)}${fieldValue(value)}`);
  const line = [...head, ...fields].join(' ');
  const err = record['err'] as { type?: unknown; message?: unknown; stack?: unknown } | undefined;
  if (!err || typeof err !== 'object') return line;
  const stack = typeof err.stack === 'string' ? err.stack : `${String(err.type)}: ${String(err.message)}`;
  return `${line}\n${paint('90', stack.replace(/^/gm, '    '))}`;
}

/** A pino destination that writes each record as a formatted line to `out`. */
export function prettyLogStream(
  out: { write(text: string): unknown },
  colours: boolean,
): { write(line: string): void } {
  return {
    write(line) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        out.write(line);
        return;
      }
      out.write(`${formatLogRecord(record as Record<string, unknown>, colours)}\n`);
    },
  };
}

function clockTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const ms = String(date.getMilliseconds()).padStart(3, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${ms}`;
}

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}
