import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reasoningOf } from './upstream-reasoning.ts';

test('reads reasoning_content first, then reasoning, then reasoning_details, never two of them', () => {
  assert.equal(reasoningOf({ reasoning_content: 'a', reasoning: 'b' }), 'a');
  assert.equal(
    reasoningOf({ reasoning: 'b', reasoning_details: [{ type: 'reasoning.text', text: 'b' }] }),
    'b',
  );
  assert.equal(reasoningOf({ content: 'answer' }), '');
});

test('joins the readable reasoning_details and skips encrypted ones', () => {
  const delta = {
    reasoning_details: [
      { type: 'reasoning.text', text: 'step one. ' },
      { type: 'reasoning.encrypted', data: 'c2VjcmV0' },
      { type: 'reasoning.summary', summary: 'in short.' },
      null,
    ],
  };
  assert.equal(reasoningOf(delta), 'step one. in short.');
});
