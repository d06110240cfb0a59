/**
 * What the model sees of a tool: its name, description and the JSON Schema of its arguments, derived
 * from the tool's zod schema (zod 4's `z.toJSONSchema`, input side, so defaulted fields are optional)
 * unless the tool brings its own (an MCP server's `inputSchema`, passed through untouched).
 * Computed once per tool object and cached, since every model call sends the specs again.
 */
import { z } from 'zod';
import type { ToolSpec } from '../model/index.ts';
import type { AnyTool } from './types.ts';

const cache = new WeakMap<AnyTool, ToolSpec>();

export function toolSpec(tool: AnyTool): ToolSpec {
  let spec = cache.get(tool);
  if (spec === undefined) {
    const { $schema: _dialect, ...parameters } =
      tool.parameters ?? z.toJSONSchema(tool.schema, { io: 'input', unrepresentable: 'any' });
    spec = { name: tool.name, description: tool.description, parameters };
    cache.set(tool, spec);
  }
  return spec;
}
