/**
 * `herald chat`: checks a model is configured, builds the agent, then runs either one question
 * (`-q "…"`, or `-q -` to read it from stdin) or the interactive conversation. Logs stay quiet
 * (warnings only) unless `--debug` or an explicit log level asks for more, so they do not bury the answer.
 */
import type { Agent } from '../agent/index.ts';
import type { LoadedConfig } from '../config/index.ts';
import { createLogger } from '../logger.ts';
import {
  DEFAULT_BASE_URL,
  isModelConfigured,
  MODEL_NOT_CONFIGURED_MESSAGE,
  ModelError,
} from '../model/index.ts';
import { chatOnce, readStdin } from './chat-once.ts';
import { chatRepl } from './chat-repl.ts';
import { buildAgent, buildToolRegistry } from './compose.ts';

export async function runChat(
  loaded: LoadedConfig,
  options: { query?: string; debug: boolean },
): Promise<void> {
  const { config, sources } = loaded;
  // Say so before the first prompt rather than after the user has typed a question.
  if (!isModelConfigured(config.model))
    throw new ModelError('upstream_not_configured', MODEL_NOT_CONFIGURED_MESSAGE);
  const explicitLevel = sources['logging.level'] !== 'default';
  const logger = createLogger(
    options.debug ? 'debug' : explicitLevel ? config.logging.level : 'warn',
    undefined,
    config.logging.format,
  );
  const { tools, mcp } = buildToolRegistry(config, logger, { interactive: true });
  try {
    // The person at the terminal expects the MCP tools from the first question on; each server's
    // first attempt is bounded by its timeout_s, and one that fails is simply left out.
    await mcp.ready();
    await converse(config, buildAgent(config, logger, tools), options);
  } finally {
    await mcp.stop();
  }
}

async function converse(
  config: LoadedConfig['config'],
  agent: Agent,
  options: { query?: string; debug: boolean },
): Promise<void> {
  if (options.query === undefined) {
    await chatRepl({
      agent,
      input: process.stdin,
      output: process.stdout,
      debug: options.debug,
      banner: `Herald · ${config.model.model} at ${config.model.base_url ?? DEFAULT_BASE_URL}`,
    });
    return;
  }

  const prompt = options.query === '-' ? await readStdin(process.stdin) : options.query;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    await chatOnce({
      agent,
      prompt,
      stdout: process.stdout,
      stderr: process.stderr,
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}
