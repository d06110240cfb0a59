/**
 * Builds the tool registry from config: the built-in tools plus any extra ones the composition root
 * passes (MCP tools later, test tools now), grouped into named toolsets. `api`, `chat` and `cli` exist
 * always and hold every registered tool unless `toolsets:` in config redefines them; other toolsets
 * exist only if config defines them. A toolset naming an unknown tool fails here, at startup, not at
 * the first request. It does not run tools (see `invokeTool`).
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
}

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

  const toolsets = new Map<string, AnyTool[]>();
  for (const name of defaultToolsetNames) toolsets.set(name, allTools);
  for (const [name, toolNames] of Object.entries(config.toolsets)) {
    toolsets.set(
      name,
      [...new Set(toolNames)].map((toolName) => {
        const tool = byName.get(toolName);
        if (tool === undefined) throw new UnknownToolError(`toolsets.${name}`, toolName, [...byName.keys()]);
        return tool;
      }),
    );
  }

  return {
    toolset(name) {
      const tools = toolsets.get(name);
      if (tools === undefined) throw new UnknownToolsetError(name, [...toolsets.keys()]);
      return [...tools];
    },
    toolsetNames: () => [...toolsets.keys()],
  };
}
