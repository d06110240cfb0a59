/**
 * `herald chat -q "…"`: one question, one answer. The answer goes to stdout (so it can be piped), tool
 * progress to stderr; Ctrl-C cancels the run. Failures are thrown for the exit handler to report.
 */
import type { Writable } from 'node:stream';
import type { AgentRunner, ApprovalAsker } from '../agent/index.ts';
import { chatTurn } from './chat-turn.ts';
import { CliError } from './cli-error.ts';

export interface ChatOnceOptions {
  agent: AgentRunner;
  prompt: string;
  stdout: Writable;
  stderr: Writable;
  signal: AbortSignal;
  /** Set when a person is at the terminal to answer; otherwise calls that need approval are refused. */
  approve?: ApprovalAsker;
}

export async function chatOnce(options: ChatOnceOptions): Promise<void> {
  const prompt = options.prompt.trim();
  if (!prompt) throw new CliError('empty_prompt', 'The prompt is empty.');
  await chatTurn({
    agent: options.agent,
    messages: [{ role: 'user', content: prompt }],
    signal: options.signal,
    answer: options.stdout,
    progress: options.stderr,
    ...(options.approve ? { approve: options.approve } : {}),
  });
}

/** Reads all of stdin, for `herald chat -q -`. */
export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of stdin) parts.push(typeof part === 'string' ? Buffer.from(part) : part);
  return Buffer.concat(parts).toString('utf8');
}
