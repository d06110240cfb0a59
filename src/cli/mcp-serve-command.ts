/**
 * `herald mcp serve`: Herald's agent as an MCP server over stdio, for a desktop client or IDE that
 * starts it as a subprocess. It wires the same parts as `herald serve` (the stores, tools
 * with their MCP servers, the agent, the API server's turn pipeline, which is built but never listens)
 * and acts as the local owner. stdout carries only the protocol; logs go to stderr. It ends when the
 * client closes stdin or on SIGTERM/SIGINT, stopping its own MCP servers on the way out.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { LoadedConfig } from '../config/index.ts';
import { createApiServer } from '../gateway/platforms/api-server/index.ts';
import { commandLogger } from '../logger.ts';
import { Pulse } from '../observability/index.ts';
import { buildAgent, buildToolRegistry } from './compose.ts';
import { openConfiguredStores } from './configured-stores.ts';
import { packageVersion } from './package-version.ts';
import { listenForShutdownSignals } from './shutdown-signals.ts';

export async function serveMcpOverStdio(loaded: LoadedConfig, options: { debug: boolean }): Promise<void> {
  const { config } = loaded;
  const logger = commandLogger(config.logging, options);
  const signals = listenForShutdownSignals();
  const stores = await openConfiguredStores(config, logger);
  const { tools, mcp } = buildToolRegistry(config, logger);
  try {
    const version = packageVersion();
    const api = createApiServer({
      config,
      agent: buildAgent(config, logger, tools),
      tools,
      // Nothing scrapes it here (the API server never listens), but the turn pipeline reports to one.
      pulse: new Pulse({ config, version, storeOpen: stores.isOpen }),
      responseStore: stores.responses,
      transcripts: stores.transcripts,
      shared: stores.shared,
      logger,
      version,
    });
    const server = api.mcpServer();
    const transport = new StdioServerTransport();
    const closed = new Promise<void>((resolve) => {
      transport.onclose = resolve;
      process.stdin.once('end', resolve);
    });
    await server.connect(transport);
    await Promise.race([closed, signals.received]);
    await server.close();
  } finally {
    signals.dispose();
    await mcp.stop();
    await stores.close();
  }
}
