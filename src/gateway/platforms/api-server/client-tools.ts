/**
 * Client tools at the edge: the function tools an API request declares (`tools`, `tool_choice`,
 * `parallel_tool_calls`), in Chat Completions' nested shape (`{type, function:{name,…}}`) or the
 * Responses API's flat one (`{type, name,…}`), parsed into the agent's `ToolSpec`s with a 400 naming
 * the `param` for what Herald cannot serve: hosted tool types (Herald's own tools are the hosted ones),
 * bad names, duplicates, a name taken by one of Herald's tools, a `tool_choice` naming no declared
 * tool. Schemas and `strict` pass through untouched. It does not run tools or talk to the agent.
 */
import type { ToolChoice, ToolSpec } from '../../../model/index.ts';
import { ApiError } from './errors.ts';

export type ToolShape = 'chat' | 'responses';

export interface ClientTools {
  tools: ToolSpec[];
  toolChoice: ToolChoice | undefined;
  parallelToolCalls: boolean | undefined;
}

/** The request fields this module reads; both APIs use the same names. */
export interface ClientToolFields {
  tools?: unknown;
  tool_choice?: unknown;
  parallel_tool_calls?: unknown;
}

const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** Parses and validates the client's tools; `ownToolNames` are the profile toolset's tool names. */
export function parseClientTools(
  fields: ClientToolFields,
  shape: ToolShape,
  ownToolNames: ReadonlySet<string>,
): ClientTools {
  const rawTools = fields.tools ?? [];
  if (!Array.isArray(rawTools)) throw invalid('tools', 'tools must be an array.');
  const tools = rawTools.map((raw, index) => parseTool(raw, index, shape));
  tools.forEach((tool, index) => {
    const param = nameParam(index, shape);
    if (tools.findIndex((t) => t.name === tool.name) !== index) {
      throw invalid(param, `Duplicate tool name '${tool.name}': each tool needs its own name.`);
    }
    if (ownToolNames.has(tool.name)) {
      throw new ApiError(
        400,
        `The tool name '${tool.name}' is taken by one of this server's own tools (which it runs itself ` +
          `and shows as mcp_call items); give your tool another name. Taken: ${[...ownToolNames].join(', ')}.`,
        { param, code: 'tool_name_conflict' },
      );
    }
  });
  const parallel = fields.parallel_tool_calls;
  if (parallel != null && typeof parallel !== 'boolean') {
    throw invalid('parallel_tool_calls', 'parallel_tool_calls must be a boolean.');
  }
  return {
    tools,
    toolChoice: parseToolChoice(fields.tool_choice, tools),
    parallelToolCalls: parallel ?? undefined,
  };
}

function parseTool(raw: unknown, index: number, shape: ToolShape): ToolSpec {
  const param = `tools[${index}]`;
  if (!isObject(raw)) throw invalid(param, 'Each tool must be an object.');
  if (raw.type !== 'function') {
    throw new ApiError(
      400,
      `Tools of type '${String(raw.type)}' are not supported by this server. Supported: 'function' ` +
        "(your own function tools, which the model may call and you run). This server's agent brings " +
        'its own tools and runs them itself.',
      { param: `${param}.type`, code: 'unsupported_tool_type' },
    );
  }
  const fn = shape === 'chat' ? raw.function : raw;
  if (!isObject(fn)) throw invalid(`${param}.function`, 'A function tool needs a `function` object.');
  const nameAt = nameParam(index, shape);
  if (typeof fn.name !== 'string' || !NAME_PATTERN.test(fn.name)) {
    throw invalid(nameAt, 'Tool names must be 1-64 characters of a-z, A-Z, 0-9, underscores and dashes.');
  }
  const at = shape === 'chat' ? `${param}.function` : param;
  const spec: ToolSpec = { name: fn.name };
  if (fn.description != null) {
    if (typeof fn.description !== 'string') throw invalid(`${at}.description`, 'must be a string.');
    spec.description = fn.description;
  }
  if (fn.parameters != null) {
    if (!isObject(fn.parameters)) throw invalid(`${at}.parameters`, 'must be a JSON Schema object.');
    spec.parameters = fn.parameters;
  }
  if (fn.strict !== undefined) {
    if (fn.strict !== null && typeof fn.strict !== 'boolean')
      throw invalid(`${at}.strict`, 'must be a boolean.');
    spec.strict = fn.strict;
  }
  return spec;
}

/**
 * `none` / `auto` / `required`, or a named function: `{type:"function", function:{name}}` (chat) or
 * `{type:"function", name}` (Responses); either shape is accepted on both APIs.
 */
function parseToolChoice(raw: unknown, tools: ToolSpec[]): ToolChoice | undefined {
  if (raw == null) return undefined;
  if (raw === 'none' || raw === 'auto' || raw === 'required') return raw;
  if (isObject(raw) && raw.type === 'function') {
    const name =
      typeof raw.name === 'string' ? raw.name : isObject(raw.function) ? raw.function.name : undefined;
    if (typeof name !== 'string')
      throw invalid('tool_choice', 'A function tool_choice needs the name of the function.');
    if (!tools.some((tool) => tool.name === name)) {
      throw invalid('tool_choice', `tool_choice names the function '${name}', which is not in tools.`);
    }
    return { type: 'function', name };
  }
  throw new ApiError(400, "Unsupported tool_choice: use 'none', 'auto', 'required' or a function by name.", {
    param: 'tool_choice',
    code: 'unsupported_value',
  });
}

const nameParam = (index: number, shape: ToolShape): string =>
  shape === 'chat' ? `tools[${index}].function.name` : `tools[${index}].name`;

const invalid = (param: string, message: string): ApiError =>
  new ApiError(400, message.startsWith('must') ? `Invalid value for '${param}': ${message}` : message, {
    param,
    code: 'invalid_value',
  });

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
