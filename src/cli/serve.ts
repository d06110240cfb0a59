/**
 * `herald serve` — the composition root. Wires the real parts once: the SQLite stores in HERALD_HOME,
 * the agent (model client + tools), the API server and every configured chat platform under one
 * GatewayRunner; then runs until SIGTERM/SIGINT and shuts down gracefully (a second signal exits at
 * once). The API server is started first and on its own, because a refusal to bind (unsafe host without
 * a key, port in use) must stop startup, whereas a chat platform failing to connect is retried by the
 * gateway in the background. Only one serve runs per HERALD_HOME (home-lock.ts).
 */
import type { HeraldConfig, LoadedConfig } from '../config/index.ts';
import { heraldPaths } from '../config/index.ts';
import { createChatPlatforms, GatewayRunner, type PlatformAdapter } from '../gateway/index.ts';
import { createApiServer } from '../gateway/platforms/api-server/index.ts';
import { createLogger, type Logger } from '../logger.ts';
import { isModelConfigured, MODEL_NOT_CONFIGURED_MESSAGE } from '../model/index.ts';
import {
  openDatabase,
  SqliteApprovalRuleStore,
  SqlitePairingStore,
  SqliteResponseStore,
  SqliteRunStore,
  SqliteSessionStore,
  SqliteTranscriptStore,
} from '../store/index.ts';
import { buildAgent, buildToolRegistry } from './compose.ts';
import { HomeLock } from './home-lock.ts';
import { packageVersion } from './package-version.ts';
import { listenForShutdownSignals, type ShutdownSignals } from './shutdown-signals.ts';

/** How long the process may linger after serve returned before it is ended anyway. */
const EXIT_WATCHDOG_MS = 1_000;

export async function serve(loaded: LoadedConfig, options: { debug: boolean }): Promise<void> {
  const { config } = loaded;
  const logger = createLogger(options.debug ? 'debug' : config.logging.level);
  // Listening starts before anything else: a signal during startup stops serve once startup is done.
  const signals = listenForShutdownSignals();
  // The lock guards the SQLite file in HERALD_HOME. This is the one place that decides it is needed: a
  // shared server database (`store.url`, not there yet) will skip it.
  const lock = HomeLock.acquire(heraldPaths(config.home).lock, logger);
  // A second signal exits without unwinding the finally below; the lock goes then too.
  const releaseOnExit = (): void => lock.release();
  process.once('exit', releaseOnExit);
  try {
    await runGateway(config, logger, signals, lock);
  } finally {
    lock.release();
    process.off('exit', releaseOnExit);
    signals.dispose();
    exitIfStillAlive(logger);
  }
}

async function runGateway(
  config: HeraldConfig,
  logger: Logger,
  signals: ShutdownSignals,
  lock: HomeLock,
): Promise<void> {
  if (!isModelConfigured(config.model)) process.stderr.write(`herald: ${MODEL_NOT_CONFIGURED_MESSAGE}\n`);

  const db = openDatabase(heraldPaths(config.home).database);
  const responseStore = new SqliteResponseStore(db, {
    retention: {
      maxStored: config.api_server.responses.max_stored,
      maxAgeDays: config.api_server.responses.max_age_days,
    },
  });
  const tools = buildToolRegistry(config, logger);
  const agent = buildAgent(config, logger, tools, { approvalRules: new SqliteApprovalRuleStore(db) });

  const apiServer = config.api_server.enabled
    ? createApiServer({
        config,
        agent,
        tools,
        responseStore,
        transcripts: new SqliteTranscriptStore(db),
        runStore: new SqliteRunStore(db),
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
    pairing: new SqlitePairingStore(db),
  });

  try {
    await apiServer?.start();
  } catch (error) {
    db.close();
    throw error;
  }
  if (apiServer) {
    lock.recordPort(Number(new URL(apiServer.url).port));
    process.stderr.write(`herald: API server listening on ${apiServer.url}/v1\n`);
  }
  // Chat platforms connect in the background: one whose API is unreachable is retried (by its library
  // or the gateway) and must not hold up the API server or the signal handling below.
  const gatewayStarted = gateway.start();
  if (!apiServer && platforms.length === 0) {
    logger.warn(
      { event: 'serve.nothing_enabled' },
      'Neither the API server nor any chat platform is enabled.',
    );
  }

  const signal = await signals.received;
  logger.info({ event: 'serve.stopping', signal }, 'shutting down');
  // Stop chat platforms and the API server together; each lets its running replies finish first.
  await Promise.all([gateway.stop(), apiServer?.stop()]);
  await gatewayStarted;
  db.close();
}

/**
 * Once serve has returned, nothing should keep the process alive. Should something still do (a library's
 * socket or timer), this ends it after a moment and names what was left, so a supervisor restarting
 * Herald never waits on it. The timer is unref'd: it never delays a process that exits by itself.
 */
function exitIfStillAlive(logger: Logger): void {
  setTimeout(() => {
    logger.warn(
      { event: 'serve.exit_forced', resources: process.getActiveResourcesInfo() },
      'something kept the process alive after shutdown; exiting',
    );
    process.exit();
  }, EXIT_WATCHDOG_MS).unref();
}
