/**
 * Runs one tool call the way the agent loop needs it: from the model's raw JSON arguments to a text
 * result, never throwing. Bad JSON, arguments that fail the tool's schema (every bad field listed) and
 * errors the tool throws all become an error result the model can read and correct; an aborted signal
 * returns at once even if the tool is slow to notice. It does not log, time or emit events; the agent
 * does that around it.
 */
import type { z } from 'zod';
import type { AnyTool, ToolContext, ToolImage } from './types.ts';

export interface ToolResult {
  output: string;
  isError: boolean;
  /** Images the tool returned beside `output` (which describes them). */
  images?: ToolImage[];
}

const errorResult = (message: string): ToolResult => ({ output: `Error: ${message}`, isError: true });

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(arguments)'}: ${issue.message}`)
    .join('; ');
}

function parseArguments(
  argumentsJson: string,
): { ok: true; value: unknown } | { ok: false; message: string } {
  if (argumentsJson.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(argumentsJson) };
  } catch (error) {
    return { ok: false, message: `the arguments are not valid JSON (${(error as Error).message}).` };
  }
}

/** Resolves when `signal` aborts; the returned `dispose` removes the listener. */
function abortResult(signal: AbortSignal): { promise: Promise<ToolResult>; dispose: () => void } {
  let onAbort = (): void => {};
  const promise = new Promise<ToolResult>((resolve) => {
    onAbort = () => resolve(errorResult('the tool call was cancelled.'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

export async function invokeTool(
  tool: AnyTool,
  argumentsJson: string,
  ctx: ToolContext,
): Promise<ToolResult> {
  if (ctx.signal.aborted) return errorResult('the tool call was cancelled.');
  const parsed = parseArguments(argumentsJson);
  if (!parsed.ok) return errorResult(parsed.message);
  const validated = tool.schema.safeParse(parsed.value);
  if (!validated.success) {
    return errorResult(`invalid arguments for ${tool.name}: ${describeIssues(validated.error.issues)}`);
  }

  const execution = Promise.resolve()
    .then(() => tool.execute(validated.data, ctx))
    .then(
      (output): ToolResult =>
        typeof output === 'string'
          ? { output, isError: false }
          : { output: output.text, isError: false, images: output.images },
      (error: unknown): ToolResult => errorResult(error instanceof Error ? error.message : String(error)),
    );
  const aborted = abortResult(ctx.signal);
  try {
    return await Promise.race([execution, aborted.promise]);
  } finally {
    aborted.dispose();
  }
}
