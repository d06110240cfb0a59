/**
 * The reasoning of one Chat Completions answer (`reasoning_content`), which chat frontends show in
 * their collapsible thinking panel and do not send back with the history: the upstream model's own
 * reasoning as it streams, and, with `api_server.tool_progress: reasoning`, one short paragraph per
 * tool call starting (`⚙ terminal: ls -la`, from the tool's label) and ending (ok with the output's
 * first line and how many lines follow, or the error's first line). It builds text only; the route sends it.
 */
import type { AgentEvent } from '../../../agent/index.ts';

export type ReasoningEvent = Extract<
  AgentEvent,
  { type: 'reasoning-delta' | 'tool-call-start' | 'tool-call-end' }
>;

const maxLabelChars = 160;
const maxExcerptChars = 120;

export class ChatReasoning {
  #text = '';

  /** Everything added so far. */
  get text(): string {
    return this.#text;
  }

  /** Appends what `event` adds and returns that piece ('' when nothing). */
  add(event: ReasoningEvent): string {
    const piece =
      event.type === 'reasoning-delta'
        ? event.text
        : `${paragraphBreak(this.#text)}${toolActivityLine(event)}\n\n`;
    this.#text += piece;
    return piece;
  }
}

/** What to write before a new paragraph so it does not run into the text before it. */
export function paragraphBreak(before: string): string {
  if (before === '' || before.endsWith('\n\n')) return '';
  return before.endsWith('\n') ? '\n' : '\n\n';
}

/**
 * One line of Markdown (frontends render reasoning as Markdown): names and arguments sit in code spans
 * so `*.md` or `__init__` show as typed.
 */
export function toolActivityLine(event: Exclude<ReasoningEvent, { type: 'reasoning-delta' }>): string {
  if (event.type === 'tool-call-start')
    return `⚙ ${codeSpan(clip(event.label || event.name, maxLabelChars))}`;
  const name = codeSpan(event.name);
  const lines = event.result.trim().split('\n');
  const first = clip(lines.find((line) => line.trim() !== '') ?? '', maxExcerptChars);
  if (event.isError) return `✗ ${name} failed${first ? `: ${codeSpan(first)}` : ''}`;
  if (!first) return `✓ ${name} ok, no output`;
  const more = lines.length - 1;
  return `✓ ${name} ok: ${codeSpan(first)}${more > 0 ? ` (+${more} line${more === 1 ? '' : 's'})` : ''}`;
}

/** One line, at most `max` characters. */
function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A CommonMark code span that holds any text: its fence is longer than any backtick run inside. */
function codeSpan(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}
