/**
 * Runs the tool calls of one assistant turn: announces each, runs them all concurrently under the run's
 * signal, reports each as it finishes, and returns one result per call in the calls' order (the order
 * the transcript needs). A missing tool, bad arguments or a throwing tool become error results the
 * model can read; only cancellation stops the batch early. Whether a call may run is asked of the
 * approval gate (approval-gate.ts) and, for a cut-off turn, decided by the loop (`refuseTruncatedToolCalls`).
 */
import type { ToolCall } from '../model/index.ts';
import {
  type AnyTool,
  invokeTool,
  type ToolContext,
  type ToolImage,
  type ToolOrigin,
  type ToolResult,
} from '../tools/index.ts';
import { untilAborted } from './abort.ts';
import type { ApprovalGate } from './approval-gate.ts';
import type { AgentEvent } from './types.ts';

export interface ToolCallResult {
  toolCallId: string;
  name: string;
  output: string;
  isError: boolean;
  /** Images the tool returned (described in `output` too). */
  images?: ToolImage[];
}

export type ToolEvent = Extract<AgentEvent, { type: 'tool-call-start' } | { type: 'tool-call-end' }>;

const cancelledOutput = 'Cancelled: the run was stopped before this tool finished.';
const truncatedCallOutput =
  'Error: this tool call was not run because your reply hit the output token limit before it was ' +
  'complete, so its arguments may be cut off. Issue the call again (keep its arguments shorter if needed).';

/**
 * Starts every call at once and waits for all of them, or stops waiting as soon as the run is aborted
 * (tools get the same signal and are expected to kill their work; calls still running then get a
 * "cancelled" result so the transcript stays well-formed).
 */
export async function executeToolCalls(
  calls: ToolCall[],
  tools: ReadonlyMap<string, AnyTool>,
  ctx: ToolContext,
  emit: (event: ToolEvent) => void,
  gate?: ApprovalGate,
): Promise<ToolCallResult[]> {
  for (const call of calls)
    announce(call, labelFor(tools.get(call.name), call), emit, tools.get(call.name)?.origin);

  const results: (ToolCallResult | undefined)[] = calls.map(() => undefined);
  let settled = false;
  const finish = (index: number, call: ToolCall, result: ToolResult): void => {
    // A tool finishing after the batch gave up (abort) must not emit events after the run's end.
    if (settled) return;
    const ended = endCall(call, result.output, result.isError, emit, tools.get(call.name)?.origin);
    results[index] = result.images?.length ? { ...ended, images: result.images } : ended;
  };

  const running = calls.map(async (call, index) => {
    const tool = tools.get(call.name);
    const gated = tool && gate ? await gate(call) : { run: true as const };
    const result: ToolResult = !tool
      ? { output: unknownToolMessage(call.name, tools), isError: true }
      : gated.run
        ? await runTool(tool, call)
        : { output: gated.output, isError: true };
    finish(index, call, result);
  });

  try {
    await untilAborted(Promise.all(running), ctx.signal);
  } catch (error) {
    if (!ctx.signal.aborted) throw error;
  }
  settled = true;

  return calls.map(
    (call, index) =>
      results[index] ?? endCall(call, cancelledOutput, true, emit, tools.get(call.name)?.origin),
  );

  /** `invokeTool` promises never to throw; should it break that promise, the model still gets an answer. */
  function runTool(tool: AnyTool, call: ToolCall): Promise<ToolResult> {
    return invokeTool(tool, call.arguments, ctx).catch((error: unknown) => ({
      output: `Error: the tool failed: ${error instanceof Error ? error.message : String(error)}`,
      isError: true,
    }));
  }
}

/**
 * Answers the tool calls of a turn cut off by the output limit without running them: their arguments
 * may be truncated, and running a half-written command is worse than asking again.
 */
export function refuseTruncatedToolCalls(
  calls: ToolCall[],
  emit: (event: ToolEvent) => void,
): ToolCallResult[] {
  return calls.map((call) => {
    announce(call, call.name, emit);
    return endCall(call, truncatedCallOutput, true, emit);
  });
}

function announce(
  call: ToolCall,
  label: string,
  emit: (event: ToolEvent) => void,
  origin?: ToolOrigin,
): void {
  emit({
    type: 'tool-call-start',
    toolCallId: call.id,
    name: call.name,
    arguments: call.arguments,
    label,
    ...(origin ? { origin } : {}),
  });
}

/** Reports the end of a call and returns its result: the event and the transcript carry the same output. */
function endCall(
  call: ToolCall,
  output: string,
  isError: boolean,
  emit: (event: ToolEvent) => void,
  origin?: ToolOrigin,
): ToolCallResult {
  emit({
    type: 'tool-call-end',
    toolCallId: call.id,
    name: call.name,
    result: output,
    isError,
    ...(origin ? { origin } : {}),
  });
  return { toolCallId: call.id, name: call.name, output, isError };
}

/** The tool's own progress label when its arguments are valid; its bare name otherwise. */
function labelFor(tool: AnyTool | undefined, call: ToolCall): string {
  if (!tool) return call.name;
  try {
    const parsed = tool.schema.safeParse(JSON.parse(call.arguments.trim() || '{}'));
    return parsed.success ? tool.label(parsed.data) : call.name;
  } catch {
    // Invalid JSON or a label function that throws: the name is still a useful label.
    return call.name;
  }
}

function unknownToolMessage(name: string, tools: ReadonlyMap<string, AnyTool>): string {
  const available = [...tools.keys()].join(', ') || 'none';
  return `Error: there is no tool named "${name}". Available tools: ${available}.`;
}
