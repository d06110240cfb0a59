import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, usesPrettyLogs } from './logger.ts';
import { formatLogRecord, prettyLogStream } from './pretty-log.ts';

const at = new Date(2026, 11, 4, 9, 5, 7, 42).getTime();

describe('pretty log lines', () => {
  test('show local time, level, event, message and the other fields as key=value', () => {
    const line = formatLogRecord(
      {
        level: 30,
        time: at,
        pid: 1,
        hostname: 'h',
        service: 'herald',
        event: 'api.request',
        msg: 'request',
        route: '/v1/chat/completions',
        status: 200,
        note: 'two words',
        usage: { total: 3 },
      },
      false,
    );
    assert.equal(
      line,
      '09:05:07.042 INFO  api.request request route=/v1/chat/completions status=200 note="two words" usage={"total":3}',
    );
  });

  test('colour the level and event only when asked', () => {
    const record = { level: 50, time: at, event: 'api.error', msg: 'failed' };
    const csi = '\u001b[';
    assert.equal(formatLogRecord(record, false).includes(csi), false);
    const coloured = formatLogRecord(record, true);
    assert.ok(coloured.includes(`${csi}31mERROR${csi}0m`), coloured);
    assert.ok(coloured.includes(`${csi}1mapi.error${csi}0m`), coloured);
  });

  test("put an error's stack on indented lines after the line", () => {
    const line = formatLogRecord(
      {
        level: 50,
        time: at,
        event: 'x',
        err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f' },
      },
      false,
    );
    assert.equal(line, '09:05:07.042 ERROR x\n    Error: boom\n        at f');
  });

  test('a stream passes lines that are not JSON through unchanged', () => {
    const out: string[] = [];
    const stream = prettyLogStream({ write: (text: string) => out.push(text) }, false);
    stream.write('not json\n');
    stream.write(`${JSON.stringify({ level: 40, time: at, event: 'e' })}\n`);
    assert.deepEqual(out, ['not json\n', '09:05:07.042 WARN  e\n']);
  });
});

describe('logging.format', () => {
  test('auto is pretty on a terminal and JSON otherwise; pretty and json are fixed', () => {
    assert.equal(usesPrettyLogs('auto', true), true);
    assert.equal(usesPrettyLogs('auto', false), false);
    assert.equal(usesPrettyLogs('pretty', false), true);
    assert.equal(usesPrettyLogs('json', true), false);
  });

  test('the logger writes JSON lines with json and formatted lines with pretty', () => {
    for (const format of ['json', 'pretty'] as const) {
      const lines: string[] = [];
      const logger = createLogger('info', { write: (line: string) => void lines.push(line) }, format);
      logger.info({ event: 'test.event', headers: { authorization: 'secret-value' }, count: 2 }, 'hello');
      assert.equal(lines.length, 1);
      const line = lines[0]!;
      if (format === 'json') {
        const record = JSON.parse(line);
        assert.deepEqual([record.event, record.msg, record.count], ['test.event', 'hello', 2]);
      } else {
        assert.match(
          line,
          /^\d\d:\d\d:\d\d\.\d{3} INFO {2}test\.event hello headers=\{"authorization":"\[redacted\]"\} count=2\n$/,
        );
      }
      assert.doesNotMatch(line, /secret-value/);
    }
  });
});
