/**
 * Builds the agent `herald chat` talks to from the real parts: the upstream model client and the tool
 * registry. It is the CLI's small composition root; `serve.ts` wires the gateway separately.
 */
import { Agent, type ApprovalRuleStore } from '../agent/index.ts';
import type { HeraldConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { createModelClient } from '../model/index.ts';
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

export function buildAgent(
  config: HeraldConfig,
  logger: Logger,
  tools: ToolRegistry,
  options: { approvalRules?: ApprovalRuleStore } = {},
): Agent {
  return new Agent({
    model: createModelClient(config.model, { logger }),
    tools,
    config,
    logger,
    ...options,
  });
}
