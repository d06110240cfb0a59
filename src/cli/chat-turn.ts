/**
 * One turn of `herald chat`: runs the agent, writes the answer's text as it streams to `answer` and one
 * progress line per tool call to `progress`, and returns the finished turn. A failed run throws its
 * error (after the partial text) so the caller decides whether it ends the process or just the turn.
 */
import type { Writable } from 'node:stream';
import type { AgentEvent, AgentRunner, ApprovalAsker } from '../agent/index.ts';
import type { ChatMessage } from '../model/types.ts';
import { toolProgressLine } from './tool-progress-line.ts';

export interface ChatTurnOptions {
  agent: AgentRunner;
  messages: ChatMessage[];
  signal: AbortSignal;
  answer: Writable;
  progress: Writable;
  /** Asks the person at the terminal; absent = calls that need approval are refused. */
  approve?: ApprovalAsker;
  approvalSession?: Set<string>;
}

export type ChatTurnResult = Extract<AgentEvent, { type: 'done' }>;

export async function chatTurn(options: ChatTurnOptions): Promise<ChatTurnResult> {
  const { answer, progress } = options;
  // Progress lines must not glue onto a half-written answer line when both go to the terminal.
  let midLine = false;
  const endLine = () => {
    if (midLine) answer.write('\n');
    midLine = false;
  };
  for await (const event of options.agent.run({
    messages: options.messages,
    platform: 'cli',
    signal: options.signal,
    ...(options.approve ? { approve: options.approve, approvalSession: options.approvalSession } : {}),
  })) {
    switch (event.type) {
      case 'text-delta':
        if (event.text.length > 0) {
          answer.write(event.text);
          midLine = !event.text.endsWith('\n');
        }
        break;
      case 'tool-call-start':
        if (answer === progress) endLine();
        progress.write(`${toolProgressLine(event)}\n`);
        break;
      // The terminal shows the answer and tool lines only; the model's thinking would drown them.
      case 'reasoning-delta':
      case 'tool-call-end':
      case 'usage':
      case 'approval-requested':
        break;
      case 'approval-resolved':
        progress.write(
          `  → ${event.decision === 'deny' ? `denied (${event.by})` : `approved (${event.decision})`}\n`,
        );
        break;
      case 'done':
        endLine();
        return event;
      case 'error':
        endLine();
        throw event.error;
      default: {
        const unreachable: never = event;
        throw new Error(`unexpected agent event ${JSON.stringify(unreachable)}`);
      }
    }
  }
  throw new Error('the agent ended without a result');
}
