/**
 * Builds the agent `herald chat` talks to from the real parts: the upstream model client and the tool
 * registry. It is the CLI's small composition root; `serve.ts` wires the gateway separately.
 */
import { Agent } from '../agent/index.ts';
import type { HeraldConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { createModelClient } from '../model/index.ts';
import { createToolRegistry, type ToolRegistry } from '../tools/index.ts';

export function buildAgent(
  config: HeraldConfig,
  logger: Logger,
  tools: ToolRegistry = createToolRegistry(config),
): Agent {
  return new Agent({
    model: createModelClient(config.model, { logger }),
    tools,
    config,
    logger,
  });
}
