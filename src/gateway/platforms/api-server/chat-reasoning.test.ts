import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatReasoning, toolActivityLine } from './chat-reasoning.ts';

const start = (label: string) =>
  ({ type: 'tool-call-start', toolCallId: 'c1', name: 'terminal', arguments: '{}', label }) as const;
const end = (result: string, isError = false) =>
  ({ type: 'tool-call-end', toolCallId: 'c1', name: 'terminal', result, isError }) as const;

test('a tool line keeps Markdown and backticks in its arguments literal, on one bounded line', () => {
  assert.equal(toolActivityLine(start('terminal: ls *.md')), '⚙ `terminal: ls *.md`');
  assert.equal(toolActivityLine(start('terminal: echo `date`')), '⚙ `` terminal: echo `date` ``');
  const long = toolActivityLine(start(`terminal: ${'x'.repeat(500)}\nsecond line`));
  assert.ok(long.length < 170 && !long.includes('\n') && long.includes('…'));
});

test('an ending tool shows its first output line and how many follow, or its error', () => {
  assert.equal(toolActivityLine(end('one\ntwo\nthree')), '✓ `terminal` ok: `one` (+2 lines)');
  assert.equal(toolActivityLine(end('  \n')), '✓ `terminal` ok, no output');
  assert.equal(toolActivityLine(end('\nError: denied\nmore', true)), '✗ `terminal` failed: `Error: denied`');
});

test('tool lines are paragraphs apart from the reasoning around them', () => {
  const reasoning = new ChatReasoning();
  reasoning.add({ type: 'reasoning-delta', text: 'Let me look.' });
  assert.equal(reasoning.add(start('terminal: ls')), '\n\n⚙ `terminal: ls`\n\n');
  assert.equal(reasoning.add({ type: 'reasoning-delta', text: 'Found it.' }), 'Found it.');
  assert.equal(reasoning.text, 'Let me look.\n\n⚙ `terminal: ls`\n\nFound it.');
});
