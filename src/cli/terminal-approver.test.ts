import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { ApprovalRequest } from '../agent/index.ts';
import { decisionOf, terminalApprover } from './terminal-approver.ts';

const request: ApprovalRequest = {
  id: 'apr_1',
  toolCallId: 'call_1',
  tool: 'terminal',
  arguments: JSON.stringify({ command: 'rm -rf build' }),
  reason: 'deletes files recursively',
  pattern: 'terminal:recursive-delete:rm',
};

function terminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (chunk) => {
    shown += String(chunk);
  });
  const rl = createInterface({ input, output, terminal: false });
  return { input, rl, approve: terminalApprover(rl, output), shown: () => shown };
}

describe('terminalApprover', () => {
  it('shows the command and the reason, and reads y as once', async () => {
    const t = terminal();
    const answer = t.approve(request, new AbortController().signal);
    t.input.write('y\n');
    assert.equal(await answer, 'once');
    assert.match(
      t.shown(),
      /terminal wants to run: rm -rf build\n {2}Needs approval: deletes files recursively/,
    );
    t.rl.close();
  });

  it('an abort (timeout, Ctrl-C) ends the question with a rejection', async () => {
    const t = terminal();
    const controller = new AbortController();
    const answer = t.approve(request, controller.signal);
    controller.abort(new Error('timed out'));
    await assert.rejects(answer);
    t.rl.close();
  });

  it('maps answers: y once, s session, a always, anything else deny', () => {
    assert.deepEqual(['y', 'YES', 's', 'a', 'always', '', 'n', 'maybe'].map(decisionOf), [
      'once',
      'once',
      'session',
      'always',
      'always',
      'deny',
      'deny',
      'deny',
    ]);
  });
});
