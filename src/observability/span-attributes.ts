/**
 * The names of the attributes Herald's spans carry that the stable semantic conventions do not define:
 * the OpenTelemetry GenAI conventions (still in development upstream, so copied here as OpenTelemetry
 * advises instead of imported from the package's `incubating` entry, whose names may change in a minor
 * release) and Herald's own `herald.*` names. Values are never message text, arguments or outputs.
 */

export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  /** The older name of `provider` (semantic conventions before 1.37); both are set for older backends. */
  system: 'gen_ai.system',
  provider: 'gen_ai.provider.name',
  agentName: 'gen_ai.agent.name',
  requestModel: 'gen_ai.request.model',
  requestStream: 'gen_ai.request.stream',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  finishReasons: 'gen_ai.response.finish_reasons',
  /** Seconds from the request to the first streamed delta. */
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning.output_tokens',
  toolName: 'gen_ai.tool.name',
} as const;

export const HERALD = {
  requestId: 'herald.request_id',
  /** The API error code a request, run or model call failed with (`upstream_timeout`, `invalid_api_key`…). */
  errorCode: 'herald.error_code',
  /** `ok`, `error` or `aborted` (client gone, `/stop`, shutdown): a cancelled call is not an error. */
  outcome: 'herald.outcome',
  platform: 'herald.platform',
  toolset: 'herald.toolset',
  /** True when Herald estimated the token counts because the upstream sent none. */
  usageEstimated: 'herald.usage.estimated',
  toolCalls: 'herald.tool_calls',
  /** The MCP server a tool belongs to, and the tool's name there. */
  mcpServer: 'herald.mcp.server',
  mcpTool: 'herald.mcp.tool',
  /** Sizes in UTF-8 bytes; the arguments and output themselves are never recorded. */
  argumentsBytes: 'herald.tool.arguments_bytes',
  outputBytes: 'herald.tool.output_bytes',
} as const;

/** The error code an error carries (`ModelError`, `ToolError`), else `fallback`. */
export function errorCodeOf(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : fallback;
}
