/**
 * Builds the agent `herald chat` talks to from the real parts: the upstream model client and the tool
 * registry with its MCP server connections. It is the CLI's small composition root; `serve.ts` wires
 * the gateway separately.
 */
import { Agent, type ApprovalRuleStore } from '../agent/index.ts';
import { type HeraldConfig, heraldPaths } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { createModelClient } from '../model/index.ts';
import type { Pulse, Tracing } from '../observability/index.ts';
import { createToolRegistry, McpClients, setUpToolIsolation, type ToolRegistry } from '../tools/index.ts';
import { packageVersion } from './package-version.ts';

export interface BuiltTools {
  tools: ToolRegistry;
  /** Connections to `mcp_servers:`, connecting in the background; the caller stops them on exit. */
  mcp: McpClients;
}

/**
 * The tool registry with isolation set up first (tool user, HERALD_HOME modes) and the MCP servers
 * starting. `interactive`: `herald chat`, whose user is the one the tools work for (see `setUpToolIsolation`).
 */
export function buildToolRegistry(
  config: HeraldConfig,
  logger: Logger,
  options: { interactive?: boolean } = {},
): BuiltTools {
  const isolation = setUpToolIsolation(config, logger, { quiet: options.interactive });
  const mcp = new McpClients({
    config,
    logger,
    workspace: config.agent.workspace ?? heraldPaths(config.home).workspace,
    toolUser: isolation.user,
    version: packageVersion(),
  });
  mcp.start();
  const tools = createToolRegistry(config, { toolUser: isolation.user, mcpTools: () => mcp.tools() });
  return { tools, mcp };
}

/**
 * The agent; with a `pulse`, its upstream calls are reported there (serve's status and metrics); with
 * `tracing`, its upstream and tool calls record spans; with `approvalRules`, `always` answers to
 * approval requests are kept.
 */
export function buildAgent(
  config: HeraldConfig,
  logger: Logger,
  tools: ToolRegistry,
  options: { approvalRules?: ApprovalRuleStore; pulse?: Pulse; tracing?: Tracing | undefined } = {},
): Agent {
  const { pulse, tracing, approvalRules } = options;
  const created = createModelClient(config.model, { logger });
  const model = pulse ? pulse.observeModel(created) : created;
  return new Agent({
    model: tracing ? tracing.observeModel(model) : model,
    tools: tracing ? tracing.observeTools(tools) : tools,
    config,
    logger,
    ...(approvalRules ? { approvalRules } : {}),
  });
}
