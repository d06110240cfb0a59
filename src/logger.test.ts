import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './logger.ts';

test('secret fields are redacted at the top level of a log line and one level down', () => {
  let written = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      written += String(chunk);
      done();
    },
  });
  createLogger('info', sink, 'json').info(
    {
      event: 'x',
      key: 'sk-top',
      token: 'tok-top',
      nested: { api_key: 'sk-nested', authorization: 'Bearer b' },
    },
    'secrets',
  );
  for (const secret of ['sk-top', 'tok-top', 'sk-nested', 'Bearer b'])
    assert.ok(!written.includes(secret), secret);
  assert.match(written, /\[redacted\]/);
});
