/**
 * Builds the agent `herald chat` talks to from the real parts: the upstream model client and the tool
 * registry. It is the CLI's small composition root; `serve.ts` wires the gateway separately.
 */
import { Agent } from '../agent/index.ts';
import type { HeraldConfig } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import { createModelClient } from '../model/index.ts';
import { createToolRegistry, setUpToolIsolation } from '../tools/index.ts';

/** `interactive`: `herald chat`, whose user is the one the tools work for (see `setUpToolIsolation`). */
export function buildAgent(
  config: HeraldConfig,
  logger: Logger,
  options: { interactive?: boolean } = {},
): Agent {
  const isolation = setUpToolIsolation(config, logger, { quiet: options.interactive });
  return new Agent({
    model: createModelClient(config.model, { logger }),
    tools: createToolRegistry(config, { toolUser: isolation.user }),
    config,
    logger,
  });
}
