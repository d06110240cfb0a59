import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config/index.ts';
import { ModelError, RunAbortedError } from '../model/errors.ts';
import { CliError } from './cli-error.ts';
import { describeExit } from './exit-handler.ts';

test('a config error exits 2 with its one-line message', () => {
  const report = describeExit(new ConfigError('Invalid config: a.b = 1 (from env X): expected y'), {
    debug: false,
  });
  assert.deepEqual(report, {
    exitCode: 2,
    message: 'herald: Invalid config: a.b = 1 (from env X): expected y',
  });
});

test('other failures exit 1 with only the first line of the message', () => {
  const report = describeExit(new ModelError('upstream_unavailable', 'Upstream down.\nDetails follow'), {
    debug: false,
  });
  assert.deepEqual(report, { exitCode: 1, message: 'herald: Upstream down.' });
  assert.equal(describeExit(new CliError('doctor_failed', '2 checks failed.'), { debug: false }).exitCode, 1);
  assert.equal(describeExit('plain string', { debug: false }).message, 'herald: plain string');
});

test('a cancelled run exits 130', () => {
  assert.equal(describeExit(new RunAbortedError(), { debug: false }).exitCode, 130);
});

test('--debug shows the stack and the causes', () => {
  const error = new Error('outer', { cause: new Error('inner') });
  const report = describeExit(error, { debug: true });
  assert.match(report.message ?? '', /Error: outer\n\s+at /);
  assert.match(report.message ?? '', /Caused by: Error: inner/);
});
