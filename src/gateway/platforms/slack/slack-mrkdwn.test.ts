import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toSlackMrkdwn } from './slack-mrkdwn.ts';

test('converts bold, italics and strikethrough to mrkdwn', () => {
  assert.equal(toSlackMrkdwn('**bold** and *it* and _it2_ ~~gone~~'), '*bold* and _it_ and _it2_ ~gone~');
  assert.equal(toSlackMrkdwn('__also bold__'), '*also bold*');
  assert.equal(toSlackMrkdwn('**bold with *inner* italic**'), '*bold with _inner_ italic*');
});

test('turns links into <url|text> and escapes &, < and >', () => {
  assert.equal(
    toSlackMrkdwn('see [docs](https://x.test/?a=1&b=2) for <tags> & more'),
    'see <https://x.test/?a=1&amp;b=2|docs> for &lt;tags&gt; &amp; more',
  );
});

test('headings become bold lines and list markers become bullets', () => {
  assert.equal(toSlackMrkdwn('## Title\n- one\n* two\n  - nested'), '*Title*\n• one\n• two\n  • nested');
});

test('leaves code alone apart from escaping, and drops the fence language', () => {
  assert.equal(
    toSlackMrkdwn('```ts\nconst a = **b** < c;\n```\nafter **x** and `a*b*c`'),
    '```\nconst a = **b** &lt; c;\n```\nafter *x* and `a*b*c`',
  );
});

test('an unclosed fence while streaming is treated as code to the end', () => {
  assert.equal(toSlackMrkdwn('run:\n```sh\nls **/*.ts'), 'run:\n```\nls **/*.ts');
});

test('arithmetic asterisks are not mistaken for italics', () => {
  assert.equal(toSlackMrkdwn('2 * 3 * 4 = 24'), '2 * 3 * 4 = 24');
});
