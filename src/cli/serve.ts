/**
 * `herald serve` — the composition root. Wires the real parts once: the SQLite stores in HERALD_HOME,
 * the agent (model client + tools), the API server and every configured chat platform under one
 * GatewayRunner; then runs until SIGTERM/SIGINT and shuts down gracefully. The API server is started
 * first and on its own, because a refusal to bind (unsafe host without a key, port in use) must stop
 * startup, whereas a chat platform failing to connect is retried by the gateway in the background.
 */
import { once } from 'node:events';
import type { LoadedConfig } from '../config/index.ts';
import { heraldPaths } from '../config/index.ts';
import { createChatPlatforms, GatewayRunner, type PlatformAdapter } from '../gateway/index.ts';
import { createApiServer } from '../gateway/platforms/api-server/index.ts';
import { createLogger } from '../logger.ts';
import { isModelConfigured, MODEL_NOT_CONFIGURED_MESSAGE } from '../model/index.ts';
import {
  openDatabase,
  SqliteResponseStore,
  SqliteSessionStore,
  SqliteTranscriptStore,
} from '../store/index.ts';
import { buildAgent, buildToolRegistry } from './compose.ts';
import { packageVersion } from './package-version.ts';

export async function serve(loaded: LoadedConfig, options: { debug: boolean }): Promise<void> {
  const { config } = loaded;
  const logger = createLogger(options.debug ? 'debug' : config.logging.level);
  if (!isModelConfigured(config.model)) process.stderr.write(`herald: ${MODEL_NOT_CONFIGURED_MESSAGE}\n`);

  const db = openDatabase(heraldPaths(config.home).database);
  const responseStore = new SqliteResponseStore(db, {
    retention: {
      maxStored: config.api_server.responses.max_stored,
      maxAgeDays: config.api_server.responses.max_age_days,
    },
  });
  const tools = buildToolRegistry(config, logger);
  const agent = buildAgent(config, logger, tools);

  const apiServer = config.api_server.enabled
    ? createApiServer({
        config,
        agent,
        tools,
        responseStore,
        transcripts: new SqliteTranscriptStore(db),
        logger,
        version: packageVersion(),
      })
    : undefined;
  const platforms: PlatformAdapter[] = await createChatPlatforms(config, logger);
  const gateway = new GatewayRunner({
    config,
    agent,
    sessions: new SqliteSessionStore(db),
    platforms,
    logger,
  });

  try {
    await apiServer?.start();
  } catch (error) {
    db.close();
    throw error;
  }
  if (apiServer) process.stderr.write(`herald: API server listening on ${apiServer.url}/v1\n`);
  // Chat platforms connect in the background: one whose API is unreachable is retried (by its library
  // or the gateway) and must not hold up the API server or the signal handling below.
  const gatewayStarted = gateway.start();
  if (!apiServer && platforms.length === 0) {
    logger.warn(
      { event: 'serve.nothing_enabled' },
      'Neither the API server nor any chat platform is enabled.',
    );
  }

  const signal = await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  logger.info({ event: 'serve.stopping', signal: String(signal) }, 'shutting down');
  // Stop chat platforms and the API server together; each lets its running replies finish first.
  await Promise.all([gateway.stop(), apiServer?.stop()]);
  await gatewayStarted;
  db.close();
}
