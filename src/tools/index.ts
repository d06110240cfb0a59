/**
 * The tools subsystem's front door: the registry of built-in tools and named toolsets, `invokeTool` to
 * run one model tool call safely, `toolSpec` for what the model sees, and the typed errors. The
 * built-in tools themselves are reached through the registry. Other subsystems import from here only.
 */
export {
  BlockedAddressError,
  DuplicateToolError,
  PathOutsideWorkspaceError,
  ToolError,
  type ToolErrorCode,
  UnknownToolError,
  UnknownToolsetError,
} from './errors.ts';
export { invokeTool, type ToolResult } from './invoke-tool.ts';
export { createToolRegistry, type ToolRegistryOptions } from './registry.ts';
export { toolSpec } from './tool-spec.ts';
export type * from './types.ts';
export type { WebFetchOptions } from './web-fetch.ts';
