/**
 * Builds the tool registry from config: the built-in tools plus any extra ones the composition root
 * passes (test tools), and the MCP servers' tools as they come and go, grouped into named toolsets.
 * `api`, `chat` and `cli` exist always and hold every tool, MCP tools included, unless `toolsets:` in
 * config redefines them; other toolsets exist only if config defines them. In a toolset, `mcp:<server>`
 * stands for every tool of that server and `<server>__<tool>` for one; both are resolved at each run,
 * since a server's tools are only known once it is connected. A toolset naming an unknown tool or MCP
 * server fails here, at startup, not at the first request. It does not run tools (see `invokeTool`).
 */
import type { HeraldConfig } from '../config/schema.ts';
import { createEditFileTool } from './edit-file.ts';
import { DuplicateToolError, UnknownToolError, UnknownToolsetError } from './errors.ts';
import { createReadFileTool } from './read-file.ts';
import { createSearchFilesTool } from './search-files.ts';
import { createTerminalTool } from './terminal.ts';
import type { ToolUser } from './tool-user.ts';
import type { AnyTool, ToolRegistry } from './types.ts';
import { createWebFetchTool, type WebFetchOptions } from './web-fetch.ts';
import { createWriteFileTool } from './write-file.ts';

export interface ToolRegistryOptions {
  /** Tools added to the built-ins (and to the default toolsets); names must not clash. */
  extraTools?: AnyTool[];
  /** Injected into the built-in `web_fetch` (tests: DNS lookup and fetch routed to loopback). */
  webFetch?: WebFetchOptions;
  /** The user tool commands run as (`setUpToolIsolation`); undefined = Herald's own user. */
  toolUser?: ToolUser;
  /** The MCP tools available now (`McpClients`); each carries its `origin`. */
  mcpTools?: () => readonly AnyTool[];
}

/** A toolset entry, resolved against the tools available at the time of a run. */
type ToolsetEntry =
  | { kind: 'tool'; tool: AnyTool }
  | { kind: 'server'; server: string }
  | { kind: 'mcp-tool'; name: string };

/** Every platform's default toolset; config may redefine each. */
const defaultToolsetNames = ['api', 'chat', 'cli'] as const;

function builtinTools(options: ToolRegistryOptions): AnyTool[] {
  return [
    createTerminalTool({ user: options.toolUser }),
    createReadFileTool(),
    createWriteFileTool({ owner: options.toolUser }),
    createEditFileTool(),
    createSearchFilesTool(),
    createWebFetchTool(options.webFetch),
  ];
}

export function createToolRegistry(config: HeraldConfig, options: ToolRegistryOptions = {}): ToolRegistry {
  const byName = new Map<string, AnyTool>();
  for (const tool of [...builtinTools(options), ...(options.extraTools ?? [])]) {
    if (byName.has(tool.name)) throw new DuplicateToolError(tool.name);
    byName.set(tool.name, tool);
  }
  const allTools = [...byName.values()];
  const mcpTools = options.mcpTools ?? (() => []);
  const servers = new Set(Object.keys(config.mcp_servers));

  const entry = (toolset: string, toolName: string): ToolsetEntry => {
    const tool = byName.get(toolName);
    if (tool) return { kind: 'tool', tool };
    const server = toolName.startsWith('mcp:') ? toolName.slice(4) : toolName.split('__', 1)[0]!;
    if (servers.has(server) && toolName.startsWith('mcp:')) return { kind: 'server', server };
    if (servers.has(server) && toolName.includes('__')) return { kind: 'mcp-tool', name: toolName };
    const available = [...byName.keys(), ...[...servers].map((name) => `mcp:${name}`)];
    throw new UnknownToolError(`toolsets.${toolset}`, toolName, available);
  };

  const toolsets = new Map<string, () => AnyTool[]>();
  for (const name of defaultToolsetNames) toolsets.set(name, () => [...allTools, ...mcpTools()]);
  for (const [name, toolNames] of Object.entries(config.toolsets)) {
    const entries = [...new Set(toolNames)].map((toolName) => entry(name, toolName));
    toolsets.set(name, () => resolveEntries(entries, mcpTools()));
  }

  return {
    toolset(name) {
      const tools = toolsets.get(name);
      if (tools === undefined) throw new UnknownToolsetError(name, [...toolsets.keys()]);
      return tools();
    },
    toolsetNames: () => [...toolsets.keys()],
  };
}

/** A configured toolset's tools now; MCP entries whose server is down or lacks the tool are left out. */
function resolveEntries(entries: readonly ToolsetEntry[], mcpTools: readonly AnyTool[]): AnyTool[] {
  const tools = new Set<AnyTool>();
  for (const entry of entries) {
    if (entry.kind === 'tool') tools.add(entry.tool);
    else if (entry.kind === 'server') {
      for (const tool of mcpTools) if (tool.origin?.server === entry.server) tools.add(tool);
    } else {
      const tool = mcpTools.find((candidate) => candidate.name === entry.name);
      if (tool) tools.add(tool);
    }
  }
  return [...tools];
}
