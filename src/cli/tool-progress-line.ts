/**
 * The short line `herald chat` prints when the agent starts a tool call, e.g. `⚙ terminal: ls -la`.
 * One line, bounded length, never the tool's output.
 */
import type { AgentEvent } from '../agent/index.ts';

const maxChars = 100;

export function toolProgressLine(event: Extract<AgentEvent, { type: 'tool-call-start' }>): string {
  const label = (event.label || event.name).replace(/\s+/g, ' ').trim();
  return `⚙ ${label.length > maxChars ? `${label.slice(0, maxChars - 1)}…` : label}`;
}
