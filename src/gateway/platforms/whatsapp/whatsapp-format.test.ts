import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toWhatsAppText } from './whatsapp-format.ts';

test('converts bold, italics and strikethrough to WhatsApp markers', () => {
  assert.equal(toWhatsAppText('**bold** and *it* and _it2_ ~~gone~~'), '*bold* and _it_ and _it2_ ~gone~');
  assert.equal(toWhatsAppText('__also bold__'), '*also bold*');
  assert.equal(toWhatsAppText('**bold with *inner* italic**'), '*bold with _inner_ italic*');
});

test('headings become bold lines, * bullets become dashes, links show their URL', () => {
  assert.equal(
    toWhatsAppText(
      '## Title\n* one\n- two\nsee [docs](https://x.test/a) or [https://y.test](https://y.test)',
    ),
    '*Title*\n- one\n- two\nsee docs (https://x.test/a) or https://y.test',
  );
});

test('leaves code alone and drops the fence language', () => {
  assert.equal(
    toWhatsAppText('```ts\nconst a = **b**;\n```\nafter **x** and `a*b*c`'),
    '```\nconst a = **b**;\n```\nafter *x* and `a*b*c`',
  );
});

test('an unclosed fence while streaming is treated as code to the end', () => {
  assert.equal(toWhatsAppText('run:\n```sh\nls **/*.ts'), 'run:\n```\nls **/*.ts');
});

test('arithmetic asterisks are not mistaken for italics', () => {
  assert.equal(toWhatsAppText('2 * 3 * 4 = 24'), '2 * 3 * 4 = 24');
});
