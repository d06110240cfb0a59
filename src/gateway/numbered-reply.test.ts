import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { numberedChoices, parseNumberedReply } from './numbered-reply.ts';

describe('numbered approval replies', () => {
  it('lists the four tool choices and the two pairing choices, numbered from 1', () => {
    assert.equal(
      numberedChoices('tool'),
      'Reply with a number:\n1 – approve once\n2 – approve for this conversation\n3 – always approve\n4 – deny',
    );
    assert.equal(numberedChoices('pairing'), 'Reply with a number:\n1 – let in\n2 – refuse');
  });

  it('reads each number as its decision, with spaces and a trailing dot or bang allowed', () => {
    assert.equal(parseNumberedReply('1', 'tool'), 'once');
    assert.equal(parseNumberedReply(' 2 ', 'tool'), 'session');
    assert.equal(parseNumberedReply('3.', 'tool'), 'always');
    assert.equal(parseNumberedReply('4!', 'tool'), 'deny');
    assert.equal(parseNumberedReply('1', 'pairing'), 'once');
    assert.equal(parseNumberedReply('2', 'pairing'), 'deny');
  });

  it('takes yes/no in any case as the first and the refusing choice', () => {
    assert.equal(parseNumberedReply('Yes', 'tool'), 'once');
    assert.equal(parseNumberedReply('y', 'pairing'), 'once');
    assert.equal(parseNumberedReply('NO', 'tool'), 'deny');
    assert.equal(parseNumberedReply('n.', 'pairing'), 'deny');
  });

  it('leaves everything else as an ordinary message', () => {
    for (const text of ['5', '0', '12', '1 please', 'yes do it', 'one', '', '1,2']) {
      assert.equal(parseNumberedReply(text, 'tool'), undefined, text);
    }
    assert.equal(parseNumberedReply('3', 'pairing'), undefined);
  });
});
