import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitMessage, splitMessageSlices } from './message-splitter.ts';

/** Rebuilds the original text from slices by dropping the fence lines the splitter added. */
function rejoin(text: string, maxLength: number): string {
  const slices = splitMessageSlices(text, { maxLength });
  let out = '';
  let prefix = '';
  for (const slice of slices) {
    let chunk = slice.text.slice(prefix.length);
    if (slice.carry && slice !== slices[slices.length - 1]) {
      const fence = slice.carry.trimEnd().match(/^(`{3,}|~{3,})/)![1]!;
      chunk = chunk.slice(0, chunk.length - fence.length);
      const own = text.slice(out.length, slice.end);
      if (!own.endsWith('\n') && chunk.endsWith('\n')) chunk = chunk.slice(0, -1);
    }
    out += chunk;
    prefix = slice.carry;
  }
  return out;
}

describe('splitMessage', () => {
  it('returns a text that fits unchanged', () => {
    assert.deepEqual(splitMessage('hello world', { maxLength: 4096 }), ['hello world']);
  });

  it('splits a reply longer than the limit at a paragraph boundary', () => {
    const a = 'a'.repeat(60);
    const b = 'b'.repeat(60);
    const chunks = splitMessage(`${a}\n\n${b}`, { maxLength: 100 });
    assert.deepEqual(chunks, [`${a}\n\n`, b]);
  });

  it('prefers a line break, then a space, when no paragraph break fits', () => {
    const lines = `${'x'.repeat(70)}\n${'y'.repeat(70)}`;
    assert.deepEqual(splitMessage(lines, { maxLength: 100 }), [`${'x'.repeat(70)}\n`, 'y'.repeat(70)]);
    const words = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    const chunks = splitMessage(words, { maxLength: 50 });
    for (const chunk of chunks.slice(0, -1)) assert.match(chunk, /\s$/);
    assert.equal(chunks.join(''), words);
  });

  it('keeps every chunk within the limit as the platform counts it', () => {
    const text = 'Ünïcødé 😀 text with emoji 🎉 and more words. '.repeat(300);
    for (const max of [4096, 2000, 333]) {
      const chunks = splitMessage(text, { maxLength: max });
      assert.ok(chunks.length > 1);
      for (const chunk of chunks) assert.ok(chunk.length <= max, `${chunk.length} > ${max}`);
      assert.equal(chunks.join(''), text);
    }
    // A counter that counts code points (Discord-like) is honoured too.
    const codePoints = (t: string) => [...t].length;
    for (const chunk of splitMessage(text, { maxLength: 2000, countLength: codePoints }))
      assert.ok(codePoints(chunk) <= 2000);
  });

  it('never splits a surrogate pair on a hard cut', () => {
    const text = '😀'.repeat(100);
    const chunks = splitMessage(text, { maxLength: 15 });
    for (const chunk of chunks) assert.doesNotMatch(chunk, /^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    assert.equal(chunks.join(''), text);
  });

  it('closes an open code fence at the end of a chunk and reopens it with its language', () => {
    const code = Array.from({ length: 40 }, (_, i) => `print(${i})  # line ${i}`).join('\n');
    const text = `Here is the code:\n\n\`\`\`python\n${code}\n\`\`\`\n\nDone.`;
    const chunks = splitMessage(text, { maxLength: 300 });
    assert.ok(chunks.length > 2);
    for (const chunk of chunks) {
      assert.ok(chunk.length <= 300);
      const fences = chunk.match(/^```/gm) ?? [];
      assert.equal(fences.length % 2, 0, `unbalanced fences in chunk:\n${chunk}`);
    }
    for (const chunk of chunks.slice(1, -1)) assert.ok(chunk.startsWith('```python\n'), chunk);
    assert.equal(rejoin(text, 300), text);
  });

  it('splits before a code block rather than inside it when that keeps chunks reasonably full', () => {
    const prose = 'p'.repeat(120);
    const block = `\`\`\`js\n${'const a = 1;\n'.repeat(8)}\`\`\``;
    const chunks = splitMessage(`${prose}\n\n${block}`, { maxLength: 200 });
    assert.deepEqual(chunks, [`${prose}\n\n`, block]);
  });

  it('splits 4096 and 2000 limits with fences intact on a long mixed reply', () => {
    const para = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8);
    const code = `\`\`\`ts\n${'const value: number = compute(1, 2, 3);\n'.repeat(150)}\`\`\``;
    const text = [para, code, para, code, para].join('\n\n');
    for (const max of [4096, 2000]) {
      const chunks = splitMessage(text, { maxLength: max });
      for (const chunk of chunks) {
        assert.ok(chunk.length <= max);
        assert.equal((chunk.match(/^```/gm) ?? []).length % 2, 0);
      }
      assert.equal(rejoin(text, max), text);
    }
  });

  it('makes progress on a code block holding one huge line with no spaces', () => {
    const text = `\`\`\`txt\n${'x'.repeat(500)}\n\`\`\``;
    const chunks = splitMessage(text, { maxLength: 100 });
    for (const chunk of chunks) {
      assert.ok(chunk.length <= 100);
      assert.match(chunk, /x/);
    }
    assert.equal(chunks.join('').replace(/```txt\n|\n?```/g, ''), 'x'.repeat(500));
  });
});
