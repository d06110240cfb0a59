/**
 * An `AgentRunner` decorator that taps each run's event stream for the Pulse: run start and end (with
 * outcome and duration), time to the first text, every hosted tool call's outcome, and the run's token
 * usage. It passes every event through unchanged and in order; it does not buffer, retry or alter runs.
 */
import type { AgentEndEvent, AgentEvent, AgentInput, AgentRunner } from '../agent/index.ts';
import { RunAbortedError } from '../model/index.ts';

/** How a run ended, as the Pulse records it. */
export interface RunEnd {
  outcome: 'done' | 'error' | 'aborted';
  promptTokens: number;
  completionTokens: number;
  /** A failed (not aborted) run's error code. */
  errorCode?: string;
}

/** What the decorator reports; the Pulse implements it. */
export interface RunObserver {
  runStarted(platform: string): void;
  firstToken(platform: string, seconds: number): void;
  toolCall(tool: string, isError: boolean): void;
  runEnded(platform: string, seconds: number, end: RunEnd): void;
}

export function observeAgent(agent: AgentRunner, observer: RunObserver): AgentRunner {
  async function* run(input: AgentInput): AsyncGenerator<AgentEvent> {
    const { platform } = input;
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    let firstToken = true;
    let ended = false;
    observer.runStarted(platform);
    try {
      for await (const event of agent.run(input)) {
        if (event.type === 'text-delta' && firstToken) {
          firstToken = false;
          observer.firstToken(platform, elapsed());
        } else if (event.type === 'tool-call-end') {
          observer.toolCall(event.name, event.isError);
        } else if (event.type === 'done' || event.type === 'error') {
          ended = true;
          observer.runEnded(platform, elapsed(), runEnd(event, input.signal));
        }
        yield event;
      }
    } finally {
      // A consumer that leaves early (client gone) cancels the run without an end event.
      if (!ended) {
        observer.runEnded(platform, elapsed(), { outcome: 'aborted', promptTokens: 0, completionTokens: 0 });
      }
    }
  }
  return {
    run,
    ...(agent.compact ? { compact: agent.compact.bind(agent) } : {}),
  };
}

/** How the run that `event` ended went; a run cancelled through `signal` counts as aborted, not failed. */
export function runEnd(event: AgentEndEvent, signal: AbortSignal): RunEnd {
  const tokens = { promptTokens: event.usage.promptTokens, completionTokens: event.usage.completionTokens };
  if (event.type === 'done') return { outcome: 'done', ...tokens };
  if (signal.aborted || event.error instanceof RunAbortedError) return { outcome: 'aborted', ...tokens };
  const code = (event.error as { code?: unknown }).code;
  return { outcome: 'error', ...tokens, errorCode: typeof code === 'string' ? code : 'internal_error' };
}
