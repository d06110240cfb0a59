/**
 * Builds the agent `herald chat` talks to from the real parts: the upstream model client and the tool
 * registry. It is the CLI's small composition root; `serve.ts` wires the gateway separately.
 */
import { Agent } from '../agent/index.ts';
import type { HeraldConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { createModelClient } from '../model/index.ts';
import type { Pulse } from '../observability/index.ts';
import { createToolRegistry, setUpToolIsolation, type ToolRegistry } from '../tools/index.ts';

/**
 * The tool registry with isolation set up first (tool user, HERALD_HOME modes). `interactive`:
 * `herald chat`, whose user is the one the tools work for (see `setUpToolIsolation`).
 */
export function buildToolRegistry(
  config: HeraldConfig,
  logger: Logger,
  options: { interactive?: boolean } = {},
): ToolRegistry {
  const isolation = setUpToolIsolation(config, logger, { quiet: options.interactive });
  return createToolRegistry(config, { toolUser: isolation.user });
}

/** The agent; with a `pulse`, its upstream calls are reported there (serve's status and metrics). */
export function buildAgent(config: HeraldConfig, logger: Logger, tools: ToolRegistry, pulse?: Pulse): Agent {
  const model = createModelClient(config.model, { logger });
  return new Agent({
    model: pulse ? pulse.observeModel(model) : model,
    tools,
    config,
    logger,
  });
}
