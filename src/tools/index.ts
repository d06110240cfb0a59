/**
 * The tools subsystem's front door: the registry of built-in tools and named toolsets, `invokeTool` to
 * run one model tool call safely and `toolSpec` for what the model sees. The built-in tools are reached
 * through the registry. Tool failures reach the model as error results; configuration mistakes are
 * thrown as errors with a stable `code`. Other subsystems import from here only.
 */
export { invokeTool, type ToolResult } from './invoke-tool.ts';
export { McpClients, type McpClientsOptions } from './mcp/mcp-clients.ts';
export type { McpServerState, McpServerStatus } from './mcp/mcp-connection.ts';
export { createToolRegistry, type ToolRegistryOptions } from './registry.ts';
export { setUpToolIsolation, type ToolIsolation } from './tool-isolation.ts';
export { toolSpec } from './tool-spec.ts';
export type { ToolUser } from './tool-user.ts';
export type * from './types.ts';
export type { WebFetchOptions } from './web-fetch.ts';
