import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trimQuotedHistory } from './quoted-history.ts';

describe('trimQuotedHistory', () => {
  it('drops ">" lines and the "On … wrote:" line above them', () => {
    const text =
      'Thanks, and what about Friday?\n\nOn Mon, 1 Dec 2026 at 10:00, Herald <bot@example.com> wrote:\n> Monday works.\n> Best';
    assert.equal(trimQuotedHistory(text), 'Thanks, and what about Friday?');
  });

  it('handles an attribution wrapped over two lines', () => {
    const text = 'Yes.\n\nOn Mon, 1 Dec 2026 at 10:00, Herald\n<bot@example.com> wrote:\n> earlier';
    assert.equal(trimQuotedHistory(text), 'Yes.');
  });

  it("cuts at Outlook's Original Message separator and its From:/Sent: block", () => {
    assert.equal(
      trimQuotedHistory('New text\r\n\r\n-----Original Message-----\r\nFrom: x\r\nold'),
      'New text',
    );
    assert.equal(
      trimQuotedHistory('New text\n\nFrom: Herald <bot@example.com>\nSent: Monday\nTo: ann\nold text'),
      'New text',
    );
  });

  it('cuts at a signature separator but keeps a sentence starting with "From:"', () => {
    assert.equal(
      trimQuotedHistory('Hi\nFrom: the docs, it seems fine.\n-- \nAnn\nACME'),
      'Hi\nFrom: the docs, it seems fine.',
    );
  });

  it('keeps inline text between quotes', () => {
    assert.equal(
      trimQuotedHistory('> question one\nanswer one\n> question two\nanswer two'),
      'answer one\nanswer two',
    );
  });
});
