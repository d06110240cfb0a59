/**
 * `herald serve` — the composition root. Wires the real parts once: the SQLite stores in HERALD_HOME,
 * the agent (model client + tools), the API server and every configured chat platform under one
 * GatewayRunner; then runs until SIGTERM/SIGINT and shuts down gracefully (a second signal exits at
 * once). The API server is started first and on its own, because a refusal to bind (unsafe host without
 * a key, port in use) must stop startup, whereas a chat platform failing to connect is retried by the
 * gateway in the background. Once the API listens, one startup banner on stderr says where everything
 * is (startup-banner.ts). A Pulse watches the model client, the agent and the platforms for `/metrics`,
 * `/status` and `/health/ready`; with `tracing.enabled`, OpenTelemetry spans of requests, agent runs,
 * model and tool calls are exported too (flushed on the way out). MCP servers connect in the background
 * too and are stopped (their child processes ended) on the way out. Only one serve runs per HERALD_HOME
 * (home-lock.ts), unless the stores live in a shared PostgreSQL database (`store.url`): then replicas
 * may run side by side, each chat platform connected by one of them at a time (the gateway's leader
 * leases).
 */
import type { HeraldConfig, LoadedConfig } from '../config/index.ts';
import { heraldPaths } from '../config/index.ts';
import {
  createChatPlatforms,
  GatewayRunner,
  isChatPlatform,
  type PlatformAdapter,
} from '../gateway/index.ts';
import { createApiServer } from '../gateway/platforms/api-server/index.ts';
import { commandLogger, type Logger } from '../logger.ts';
import { DEFAULT_BASE_URL, displayUrl, isModelConfigured } from '../model/index.ts';
import { Pulse, startTracing } from '../observability/index.ts';
import { buildAgent, buildToolRegistry } from './compose.ts';
import { openConfiguredStores } from './configured-stores.ts';
import { HomeLock } from './home-lock.ts';
import { packageVersion } from './package-version.ts';
import { listenForShutdownSignals, type ShutdownSignals } from './shutdown-signals.ts';
import { startupBanner } from './startup-banner.ts';

/** How long the process may linger after serve returned before it is ended anyway. */
const EXIT_WATCHDOG_MS = 1_000;

export async function serve(loaded: LoadedConfig, options: { debug: boolean }): Promise<void> {
  const { config } = loaded;
  const logger = commandLogger(config.logging, options);
  // Listening starts before anything else: a signal during startup stops serve once startup is done.
  const signals = listenForShutdownSignals();
  // The lock guards the SQLite file in HERALD_HOME. This is the one place that decides it is needed: a
  // shared server database (`store.url`) is made for several replicas, so it skips the lock.
  const lock = config.store.url ? undefined : HomeLock.acquire(heraldPaths(config.home).lock, logger);
  // A second signal exits without unwinding the finally below; the lock goes then too.
  const releaseOnExit = (): void => lock?.release();
  process.once('exit', releaseOnExit);
  try {
    await runGateway(config, logger, signals, lock);
  } finally {
    lock?.release();
    process.off('exit', releaseOnExit);
    signals.dispose();
    exitIfStillAlive(logger);
  }
}

async function runGateway(
  config: HeraldConfig,
  logger: Logger,
  signals: ShutdownSignals,
  lock: HomeLock | undefined,
): Promise<void> {
  const stores = await openConfiguredStores(config, logger);
  const version = packageVersion();
  const pulse = new Pulse({ config, version, storeOpen: stores.isOpen, sharedStore: stores.shared });
  const tracing = await startTracing(config, { logger, version });
  const responseStore = stores.responses;
  const { tools, mcp } = buildToolRegistry(config, logger);
  const built = buildAgent(config, logger, tools, { pulse, tracing, approvalRules: stores.approvalRules });
  const agent = pulse.observeAgent(tracing ? tracing.observeAgent(built) : built);

  const apiServer = config.api_server.enabled
    ? createApiServer({
        config,
        agent,
        tools,
        responseStore,
        transcripts: stores.transcripts,
        runStore: stores.runs,
        shared: stores.shared,
        logger,
        version,
        pulse,
        tracing,
      })
    : undefined;
  const platforms: PlatformAdapter[] = (await createChatPlatforms(config, logger)).map((platform) =>
    isChatPlatform(platform) ? pulse.observeChatPlatform(platform) : platform,
  );
  const gateway = new GatewayRunner({
    config,
    agent,
    sessions: stores.sessions,
    platforms,
    logger,
    pairing: stores.pairing,
    leases: stores.shared?.platformLeases,
  });
  pulse.watchPlatforms(() => gateway.platformStates());
  pulse.watchQueue('chat', () => gateway.queuedMessages);

  try {
    await apiServer?.start();
  } catch (error) {
    await mcp.stop();
    await stores.close();
    await tracing?.shutdown();
    throw error;
  }
  if (apiServer) lock?.recordPort(Number(new URL(apiServer.url).port));
  process.stderr.write(
    startupBanner({
      version,
      apiUrl: apiServer?.url,
      keyed: config.api_server.keys.length > 0,
      webChat: config.api_server.web_chat,
      metrics: {
        enabled: config.api_server.metrics.enabled,
        requireKey: config.api_server.metrics.require_key,
      },
      platforms: platforms.map((platform) => platform.name),
      model: isModelConfigured(config.model)
        ? `${config.model.model} at ${displayUrl(config.model.base_url ?? DEFAULT_BASE_URL)}`
        : undefined,
    }),
  );
  // Chat platforms connect in the background: one whose API is unreachable is retried (by its library
  // or the gateway) and must not hold up the API server or the signal handling below.
  const gatewayStarted = gateway.start();

  const signal = await signals.received;
  logger.info({ event: 'serve.stopping', signal }, 'shutting down');
  // Stop chat platforms and the API server together; each lets its running replies finish first.
  await Promise.all([gateway.stop(), apiServer?.stop()]);
  await gatewayStarted;
  // MCP stdio servers are child processes: none may outlive serve.
  await mcp.stop();
  await stores.close();
  // Last, so the spans of the final requests are in its flush.
  await tracing?.shutdown();
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
