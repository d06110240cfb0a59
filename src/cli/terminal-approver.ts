/**
 * How `herald chat` asks for approval: prints what the agent wants to run and why, and reads one
 * answer from the terminal — `y` once, `s` for the rest of this conversation, `a` always (kept in
 * herald.db), anything else (or Enter) denies. It asks through the readline interface the chat already
 * reads from, so an answer is never taken for the next question. It does not decide what needs asking.
 */
import type { Interface } from 'node:readline';
import type { Writable } from 'node:stream';
import type { ApprovalAsker, ApprovalDecision } from '../agent/index.ts';

export function terminalApprover(rl: Interface, output: Writable): ApprovalAsker {
  return (request, signal) => {
    output.write(
      `\n⚠ ${request.tool} wants to run: ${describeCall(request.arguments)}\n  Needs approval: ${request.reason}\n`,
    );
    return new Promise<ApprovalDecision>((resolve, reject) => {
      const onAbort = () => {
        output.write('\n(no answer: denied)\n');
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      rl.question('  Allow? [y]es once, [s]ession, [a]lways, [N]o: ', { signal }, (answer) => {
        signal.removeEventListener('abort', onAbort);
        resolve(decisionOf(answer));
      });
    });
  };
}

export function decisionOf(answer: string): ApprovalDecision {
  switch (answer.trim().toLowerCase()) {
    case 'y':
    case 'yes':
      return 'once';
    case 's':
    case 'session':
      return 'session';
    case 'a':
    case 'always':
      return 'always';
    default:
      return 'deny';
  }
}

/** A terminal command as itself; other arguments as compact JSON, cut to a screenful. */
function describeCall(argumentsJson: string): string {
  let text = argumentsJson;
  try {
    const parsed = JSON.parse(argumentsJson) as Record<string, unknown>;
    text = typeof parsed['command'] === 'string' ? parsed['command'] : JSON.stringify(parsed);
  } catch {
    // Unparseable arguments are shown as sent.
  }
  return text.length > 500 ? `${text.slice(0, 499)}…` : text;
}
