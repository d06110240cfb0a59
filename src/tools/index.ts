/**
 * The tools subsystem's front door: the registry of built-in tools and named toolsets, `invokeTool` to
 * run one model tool call safely, `toolSpec` for what the model sees, the tool factories and the typed
 * errors. Other subsystems import from here only.
 */
export { type HostLookup, isBlockedAddress, type LookupAddress } from './address-guard.ts';
export { createEditFileTool, type EditFileArgs } from './edit-file.ts';
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
export { createReadFileTool, type ReadFileArgs } from './read-file.ts';
export {
  builtinTools,
  createToolRegistry,
  defaultToolsetNames,
  type ToolRegistryOptions,
} from './registry.ts';
export { createSearchFilesTool, type SearchFilesArgs } from './search-files.ts';
export { createTerminalTool, type TerminalArgs } from './terminal.ts';
export { toolSpec } from './tool-spec.ts';
export type * from './types.ts';
export { createWebFetchTool, type WebFetchArgs, type WebFetchOptions } from './web-fetch.ts';
export { createWriteFileTool, type WriteFileArgs } from './write-file.ts';
