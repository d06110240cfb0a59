import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeadTailBuffer } from './head-tail-buffer.ts';

test('keeps everything while within the limit', () => {
  const buffer = new HeadTailBuffer(10);
  buffer.push('abc');
  buffer.push('defghij');
  assert.equal(buffer.toString(), 'abcdefghij');
  assert.equal(buffer.omittedChars, 0);
});

test('keeps head and tail of a long stream of small chunks and says how much was cut', () => {
  const buffer = new HeadTailBuffer(10);
  for (const char of 'abcdefghijklmnopqrstuvwxyz') buffer.push(char);
  assert.equal(buffer.omittedChars, 16);
  assert.equal(
    buffer.toString(),
    'abcde\n\n[… output truncated: 16 chars omitted from the middle …]\n\nvwxyz',
  );
});

test('handles one chunk far larger than the limit', () => {
  const buffer = new HeadTailBuffer(4);
  buffer.push(`${'x'.repeat(1000)}END`);
  assert.match(
    buffer.toString(),
    /^xx\n\n\[… output truncated: 999 chars omitted from the middle …\]\n\nND$/,
  );
});
