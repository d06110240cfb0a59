/**
 * The `tools` array a Response echoes back, in the full shape the Open Responses specification requires:
 * a function tool always carries `name`, `description` (null when omitted), `parameters` (null when
 * omitted) and `strict` (default `true`), whether the client sent the Responses shape
 * (`{type, name, parameters}`) or the Chat Completions one (`{type, function: {name, parameters}}`).
 * Other tool types are echoed as sent. Pure: it decides nothing about which tools run.
 */

export interface EchoedFunctionTool {
  type: 'function';
  name: string;
  description: string | null;
  parameters: Record<string, unknown> | null;
  strict: boolean;
  [field: string]: unknown;
}

/** One function tool as a Response shows it; `undefined` when `tool` is not a function tool. */
export function echoedFunctionTool(tool: unknown): EchoedFunctionTool | undefined {
  if (!isRecord(tool) || tool.type !== 'function') return undefined;
  // Chat Completions nests the definition under `function`; the Responses API has it flat.
  const { function: nested, ...rest } = tool;
  const definition = isRecord(nested) ? { ...rest, ...nested } : tool;
  return {
    ...definition,
    type: 'function',
    name: typeof definition.name === 'string' ? definition.name : '',
    description: typeof definition.description === 'string' ? definition.description : null,
    parameters: isRecord(definition.parameters) ? definition.parameters : null,
    strict: typeof definition.strict === 'boolean' ? definition.strict : true,
  };
}

export function echoedTools(tools: readonly unknown[]): unknown[] {
  return tools.map((tool) => echoedFunctionTool(tool) ?? tool);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
