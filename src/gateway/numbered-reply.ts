/**
 * The stand-in for approval buttons on platforms without them (WhatsApp, Matrix, Mattermost, DingTalk): the numbered choices printed under an approval prompt, and
 * the reading of a reply as one of them. A reply is exactly one number (surrounding spaces and a
 * trailing `.` or `!` allowed), or `yes`/`y` (the first choice) or `no`/`n` (the refusing one), in any
 * case; anything longer is an ordinary message. It does not know which prompt a reply answers, nor who
 * may answer it: the platform and the gateway's ChatApprovals decide that.
 */
import type { ApprovalAnswer } from './types.ts';

export type PromptKind = 'tool' | 'pairing';
type Decision = ApprovalAnswer['decision'];

const choices: Record<PromptKind, ReadonlyArray<{ label: string; decision: Decision }>> = {
  tool: [
    { label: 'approve once', decision: 'once' },
    { label: 'approve for this conversation', decision: 'session' },
    { label: 'always approve', decision: 'always' },
    { label: 'deny', decision: 'deny' },
  ],
  // The gateway reads any decision but `deny` on a pairing offer as "let in".
  pairing: [
    { label: 'let in', decision: 'once' },
    { label: 'refuse', decision: 'deny' },
  ],
};

const REPLY = /^\s*(\d|yes|y|no|n)\s*[.!]?\s*$/i;

/** The lines shown under a prompt's text. */
export function numberedChoices(kind: PromptKind): string {
  const lines = choices[kind].map((choice, i) => `${i + 1} – ${choice.label}`);
  return ['Reply with a number:', ...lines].join('\n');
}

/** The decision `text` picks on a prompt of `kind`, or undefined when it is not an answer to it. */
export function parseNumberedReply(text: string, kind: PromptKind): Decision | undefined {
  const word = REPLY.exec(text)?.[1]?.toLowerCase();
  if (word === undefined) return undefined;
  const options = choices[kind];
  if (word === 'yes' || word === 'y') return options[0]!.decision;
  if (word === 'no' || word === 'n') return 'deny';
  return options[Number(word) - 1]?.decision;
}
