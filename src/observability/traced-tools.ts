/**
 * A `ToolRegistry` decorator whose tools record one span per call (`execute_tool <name>`): the tool's
 * name, for an MCP tool its server and its name there, the outcome, and the sizes of the arguments and
 * the output — never the arguments or the output themselves, which may hold secrets (a command with a
 * token, a file's contents). The span is current while the tool runs and nests under the agent run's.
 * Calls refused before the tool runs (unknown tool, invalid arguments, approval denied) record none.
 */
import { type Span, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { AnyTool, ToolContext, ToolRegistry } from '../tools/index.ts';
import { errorCodeOf, GEN_AI, HERALD } from './span-attributes.ts';

export function traceTools(tools: ToolRegistry, tracer: Tracer): ToolRegistry {
  return {
    toolset: (name) => tools.toolset(name).map((tool) => traceTool(tool, tracer)),
    toolsetNames: () => tools.toolsetNames(),
  };
}

function traceTool(tool: AnyTool, tracer: Tracer): AnyTool {
  const attributes = {
    [GEN_AI.operation]: 'execute_tool',
    [GEN_AI.toolName]: tool.name,
    ...(tool.origin ? { [HERALD.mcpServer]: tool.origin.server, [HERALD.mcpTool]: tool.origin.tool } : {}),
  };
  return {
    ...tool,
    execute: (args: unknown, ctx: ToolContext) =>
      tracer.startActiveSpan(`execute_tool ${tool.name}`, { attributes }, async (span) => {
        span.setAttribute(HERALD.argumentsBytes, Buffer.byteLength(JSON.stringify(args) ?? ''));
        try {
          const output = await tool.execute(args, ctx);
          const text = typeof output === 'string' ? output : output.text;
          span.setAttributes({ [HERALD.outcome]: 'ok', [HERALD.outputBytes]: Buffer.byteLength(text) });
          return output;
        } catch (error) {
          recordFailure(span, error, ctx.signal);
          throw error;
        } finally {
          span.end();
        }
      }),
  };
}

function recordFailure(span: Span, error: unknown, signal: AbortSignal): void {
  if (signal.aborted) {
    span.setAttribute(HERALD.outcome, 'aborted');
    return;
  }
  // A `ToolError`'s code (`not_found`, `timeout`…) or the error's class; never its message, which may
  // quote the arguments or the output.
  const type = errorCodeOf(error, error instanceof Error ? error.name : 'Error');
  span.setAttributes({ [HERALD.outcome]: 'error', [ATTR_ERROR_TYPE]: type });
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}
