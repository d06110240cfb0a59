/**
 * Interactive `herald chat`: a prompt, the streamed answer, one progress line per tool call, and the
 * conversation kept in memory (with the agent's tool calls and results) until `/new` or `/exit`.
 * Ctrl-C cancels the running answer; at the prompt it leaves. A failed turn prints one line and the
 * conversation goes on. Nothing is stored on disk.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { type AgentRunner, compactedConversation } from '../agent/index.ts';
import type { ChatMessage } from '../model/types.ts';
import { chatTurn } from './chat-turn.ts';
import { describeExit } from './exit-handler.ts';
import { terminalApprover } from './terminal-approver.ts';

export interface ChatReplOptions {
  agent: AgentRunner;
  input: Readable;
  output: Writable;
  debug: boolean;
  /** Header line shown once, e.g. the model in use. */
  banner?: string;
}

export async function chatRepl(options: ChatReplOptions): Promise<void> {
  const { output } = options;
  const terminal = 'isTTY' in options.output && options.output.isTTY === true;
  const rl = createInterface({ input: options.input, output, terminal, prompt: '› ' });
  let history: ChatMessage[] = [];
  const approve = terminalApprover(rl, output);
  let approvalSession = new Set<string>();
  let running: AbortController | undefined;
  // Piped input ends the interface early while lines are still being answered; prompting then throws.
  let closed = false;
  rl.on('close', () => {
    closed = true;
  });
  rl.on('SIGINT', () => {
    if (running) running.abort();
    else rl.close();
  });

  if (options.banner) output.write(`${options.banner}\n`);
  output.write('Type /new for a fresh conversation, /exit to leave.\n');
  rl.prompt();
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/exit' || text === '/quit') break;
    if (text === '/new') {
      history = [];
      approvalSession = new Set();
      output.write('(new conversation)\n');
    } else if (text.length > 0) {
      const messages: ChatMessage[] = [...history, { role: 'user', content: text }];
      running = new AbortController();
      try {
        const done = await chatTurn({
          agent: options.agent,
          messages,
          signal: running.signal,
          answer: output,
          progress: output,
          approve,
          approvalSession,
        });
        const conversation = [...messages, ...done.messages];
        // A compacted run continues from its summary next turn, instead of summarising again.
        history = done.compaction ? compactedConversation(conversation, done.compaction) : conversation;
      } catch (error) {
        const report = describeExit(error, { debug: options.debug });
        if (report.message) output.write(`${report.message}\n`);
      } finally {
        running = undefined;
      }
    }
    if (!closed) rl.prompt();
  }
  rl.close();
}
