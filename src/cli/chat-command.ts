/**
 * `herald chat`: checks a model is configured, builds the agent, then runs either one question
 * (`-q "…"`, or `-q -` to read it from stdin) or the interactive conversation. Logs stay quiet
 * (warnings only) unless `--debug` or an explicit log level asks for more, so they do not bury the answer.
 */

import { createInterface } from 'node:readline';
import type { AgentRunner, ApprovalRuleStore } from '../agent/index.ts';
import { type HeraldConfig, heraldPaths, type LoadedConfig } from '../config/index.ts';
import { commandLogger } from '../logger.ts';
import {
  DEFAULT_BASE_URL,
  isModelConfigured,
  MODEL_NOT_CONFIGURED_MESSAGE,
  ModelError,
} from '../model/index.ts';
import {
  openDatabase,
  openPostgresPool,
  PostgresApprovalRuleStore,
  SqliteApprovalRuleStore,
} from '../store/index.ts';
import { chatOnce, readStdin } from './chat-once.ts';
import { chatRepl } from './chat-repl.ts';
import { buildAgent, buildToolRegistry } from './compose.ts';
import { terminalApprover } from './terminal-approver.ts';

export async function runChat(
  loaded: LoadedConfig,
  options: { query?: string; debug: boolean },
): Promise<void> {
  const { config, sources } = loaded;
  // Say so before the first prompt rather than after the user has typed a question.
  if (!isModelConfigured(config.model))
    throw new ModelError('upstream_not_configured', MODEL_NOT_CONFIGURED_MESSAGE);
  const explicitLevel = sources['logging.level'] !== 'default';
  const logger = commandLogger(config.logging, {
    debug: options.debug,
    ...(explicitLevel ? {} : { level: 'warn' }),
  });
  const rules = lazyApprovalRules(config);
  const { tools, mcp } = buildToolRegistry(config, logger, { interactive: true });
  try {
    // The person at the terminal expects the MCP tools from the first question on; each server's
    // first attempt is bounded by its timeout_s, and one that fails is simply left out.
    await mcp.ready();
    await converse(buildAgent(config, logger, tools, { approvalRules: rules }), config, options);
  } finally {
    await mcp.stop();
    await rules.close();
  }
}
/**
 * The `always` answers in the configured store (herald.db, or the shared database of `store.url`),
 * opened only when a call first needs approval: most chats never touch the store, which may be held by
 * a serving Herald or not exist yet.
 */
function lazyApprovalRules(config: HeraldConfig): ApprovalRuleStore & { close(): Promise<void> } {
  let opened: Promise<{ store: ApprovalRuleStore; close: () => Promise<void> }> | undefined;
  const open = async () => {
    opened ??= (async () => {
      const url = config.store.url;
      if (url) {
        const pool = openPostgresPool(url, { max: 1 });
        return { store: await PostgresApprovalRuleStore.open(pool), close: () => pool.end() };
      }
      const db = openDatabase(heraldPaths(config.home).database);
      return { store: new SqliteApprovalRuleStore(db), close: async () => db.close() };
    })();
    return opened;
  };
  return {
    has: async (pattern) => (await open()).store.has(pattern),
    add: async (pattern) => (await open()).store.add(pattern),
    close: async () => {
      await (await opened?.catch(() => undefined))?.close();
    },
  };
}

async function converse(
  agent: AgentRunner,
  config: HeraldConfig,
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
  // A person can answer approvals only when the question did not come through stdin and stdin is a terminal.
  const rl =
    options.query !== '-' && process.stdin.isTTY
      ? createInterface({ input: process.stdin, output: process.stderr, terminal: true })
      : undefined;
  try {
    await chatOnce({
      agent,
      prompt,
      stdout: process.stdout,
      stderr: process.stderr,
      signal: controller.signal,
      ...(rl ? { approve: terminalApprover(rl, process.stderr) } : {}),
    });
  } finally {
    rl?.close();
    process.off('SIGINT', onSigint);
  }
}
