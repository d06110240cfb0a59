import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exceededJsonLimit } from './json-body-parser.ts';

const limits = { maxDepth: 4, maxArrayItems: 3, maxStringChars: 5 };

test('accepts values within every limit', () => {
  assert.equal(exceededJsonLimit({ a: [{ b: 'hello' }, 1, null] }, limits), undefined);
});

test('names the limit a value breaks: depth, array length, string or key length', () => {
  assert.equal(exceededJsonLimit({ a: { b: { c: { d: {} } } } }, limits)?.code, 'json_too_deep');
  assert.equal(exceededJsonLimit([[[[[]]]]], limits)?.code, 'json_too_deep');
  assert.equal(exceededJsonLimit({ a: [1, 2, 3, 4] }, limits)?.code, 'json_array_too_long');
  assert.equal(exceededJsonLimit({ a: 'toolong' }, limits)?.code, 'json_string_too_long');
  assert.equal(exceededJsonLimit({ toolong: 1 }, limits)?.code, 'json_string_too_long');
  const error = exceededJsonLimit({ a: 'toolong' }, limits);
  assert.equal(error?.status, 400);
  assert.equal(error?.param, null);
});

test('survives nesting far deeper than the call stack allows', () => {
  const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  assert.equal(exceededJsonLimit(deep, { ...limits, maxDepth: 64 })?.code, 'json_too_deep');
});
