/**
 * `herald doctor`: checks what a working Herald needs and prints one line per check, with the fix when
 * it fails — the config is valid (and its version), the upstream answers with the key, the model calls
 * tools (one tiny probe, skippable), the API port is free or held by this Herald's serve, the store is
 * writable (with `store.url`: the PostgreSQL server answers), each configured platform token is
 * accepted, WhatsApp is linked, each MCP server connects, Node is recent enough.
 * It changes nothing but a first-run config.yaml. Any failed check makes the command fail (exit 1)
 * after all checks have run.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import {
  ConfigError,
  type HeraldConfig,
  type HeraldPaths,
  heraldPaths,
  type LoadedConfig,
  loadConfig,
} from '../config/index.ts';
import { DEFAULT_BASE_URL, isModelConfigured, MODEL_NOT_CONFIGURED_MESSAGE } from '../model/index.ts';
import { checkPostgres } from '../store/index.ts';
import { CliError } from './cli-error.ts';
import { storeLocation } from './configured-stores.ts';
import { listUpstreamModels } from './list-upstream-models.ts';
import { checkEmailAndDingTalk } from './mail-and-dingtalk-doctor.ts';
import { checkMcpServers } from './mcp-doctor.ts';
import {
  checkMatrixToken,
  checkMattermostToken,
  checkPlatformToken,
  type PlatformApiRoots,
  type TokenCheck,
  type TokenPlatform,
} from './platform-token-check.ts';

export interface DoctorOptions {
  env?: Record<string, string | undefined>;
  output: Writable;
  /** Timeout of each network check (default 5000 ms; the tool-call probe gets six times as long). */
  upstreamTimeoutMs?: number;
  /** Send the tool-call probe (default true; `--no-probe`). */
  probe?: boolean;
  /** API roots of the platform token checks (tests: the local fakes); Telegram's defaults to its configured one. */
  apiRoots?: PlatformApiRoots;
}

/** The oldest Node Herald supports (package.json engines). */
const minimumNode = [22, 13] as const;

type Report = (ok: boolean, line: string) => void;

export async function runDoctor(options: DoctorOptions): Promise<void> {
  const { output } = options;
  let failures = 0;
  const report: Report = (ok, line) => {
    if (!ok) failures++;
    output.write(`${ok ? '✓' : '✗'} ${line}\n`);
  };

  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({ env: options.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report(false, `config: ${error.message}`);
    throw new CliError('doctor_failed', 'The config is invalid; fix it and run `herald doctor` again.');
  }
  const { config } = loaded;
  const paths = heraldPaths(config.home);
  report(true, `config: ${paths.configFile} is valid (config_version ${config.config_version})`);
  for (const warning of loaded.warnings) output.write(`! ${warning}\n`);

  await checkUpstream(config, options, report);
  await checkApiPort(config, paths, report);
  if (config.store.url) await checkSharedStore(config, options, report);
  else checkStore(paths, report);
  await checkPlatforms(config, options, report);
  checkNode(report);

  await checkMcpServers(config, report);

  if (failures > 0)
    throw new CliError('doctor_failed', `${failures} check${failures === 1 ? '' : 's'} failed.`);
}

async function checkUpstream(config: HeraldConfig, options: DoctorOptions, report: Report): Promise<void> {
  const { model, api_key: apiKey } = config.model;
  if (!isModelConfigured(config.model) || !model) {
    report(false, `model: ${MODEL_NOT_CONFIGURED_MESSAGE}`);
    return;
  }
  // The model client's own default when only a key is set.
  const baseUrl = config.model.base_url ?? DEFAULT_BASE_URL;
  report(true, `model: ${model} at ${baseUrl}`);
  try {
    const models = await listUpstreamModels(baseUrl, { apiKey, timeoutMs: options.upstreamTimeoutMs });
    const listed =
      models.length === 0 || models.includes(model) ? '' : ` (note: ${model} is not in its model list)`;
    report(true, `upstream: reachable, key accepted, ${models.length} models listed${listed}`);
  } catch (error) {
    report(
      false,
      `upstream: ${message(error)} — fix: check model.base_url and the key (HERALD_API_KEY), or run \`herald setup\``,
    );
    return;
  }
  if (options.probe === false) {
    report(true, 'tool calling: not probed (--no-probe)');
    return;
  }
  const problem = await probeToolCalling(baseUrl, apiKey, model, (options.upstreamTimeoutMs ?? 5000) * 6);
  report(
    !problem,
    problem
      ? `tool calling: ${problem} — fix: pick a model that supports tool calling (\`herald setup\`), or skip with --no-probe`
      : `tool calling: ${model} called the probe tool`,
  );
}

/**
 * One tiny non-streamed request offering one tool and asking for it to be called; undefined when the
 * model answers with that tool call, else why not. The agent is useless with a model that never calls tools.
 */
async function probeToolCalling(
  baseUrl: string,
  apiKey: string | undefined,
  model: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) headers['authorization'] = `Bearer ${apiKey}`;
  const body = {
    model,
    messages: [{ role: 'user', content: 'Call the get_time tool now. Do not answer in text.' }],
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_time',
          description: 'Returns the current time.',
          parameters: { type: 'object', properties: {}, additionalProperties: false },
        },
      },
    ],
    max_tokens: 512,
  };
  let response: Response;
  try {
    response = await fetch(`${baseUrl.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return `the probe request failed (${message(error)})`;
  }
  const reply = (await response.json().catch(() => undefined)) as
    | {
        error?: { message?: string };
        choices?: { message?: { tool_calls?: { function?: { name?: string } }[] } }[];
      }
    | undefined;
  if (!response.ok) {
    return `the upstream refused a request with tools (HTTP ${response.status}${reply?.error?.message ? `: ${reply.error.message}` : ''})`;
  }
  const calls = reply?.choices?.[0]?.message?.tool_calls ?? [];
  return calls.some((call) => call.function?.name === 'get_time')
    ? undefined
    : 'the model answered without calling the offered tool';
}

async function checkApiPort(config: HeraldConfig, paths: HeraldPaths, report: Report): Promise<void> {
  if (!config.api_server.enabled) {
    report(true, 'api server: disabled');
    return;
  }
  const { host, port } = config.api_server;
  const problem = await portProblem(host, port);
  if (!problem) {
    report(true, `api server: ${host}:${port} is free`);
    return;
  }
  const holder = lockHolder(paths.lock);
  if (problem === 'in use' && holder?.port === port && isRunning(holder.pid)) {
    report(true, `api server: herald serve (pid ${holder.pid}) is already listening on ${host}:${port}`);
    return;
  }
  const fix =
    problem === 'in use'
      ? 'stop what uses it or set another port (API_SERVER_PORT / api_server.port)'
      : 'set api_server.host to an address of this machine';
  report(false, `api server: ${host}:${port} ${problem === 'in use' ? 'is in use' : problem} — fix: ${fix}`);
}

/** Undefined when `host:port` can be bound, `'in use'`, or why else it cannot be. */
function portProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'EADDRINUSE' ? 'in use' : `cannot be bound (${error.code ?? error.message})`);
    });
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}

/** The pid and port in HERALD_HOME's lock file (home-lock.ts), if a serve wrote one. */
function lockHolder(lock: string): { pid: number; port?: number } | undefined {
  try {
    const holder = JSON.parse(readFileSync(lock, 'utf8')) as { pid?: unknown; port?: unknown };
    if (typeof holder.pid !== 'number') return undefined;
    return { pid: holder.pid, port: typeof holder.port === 'number' ? holder.port : undefined };
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function checkStore(paths: HeraldPaths, report: Report): void {
  try {
    accessSync(paths.home, constants.W_OK);
    if (existsSync(paths.database)) accessSync(paths.database, constants.W_OK);
  } catch (error) {
    report(false, `store: ${message(error)} — fix: make HERALD_HOME writable by the user Herald runs as`);
    return;
  }
  if (!existsSync(paths.database)) {
    report(true, `store: ${paths.home} is writable (${paths.database} is created by the first serve)`);
    return;
  }
  const bytes = ['', '-wal'].reduce((sum, suffix) => {
    const file = `${paths.database}${suffix}`;
    return sum + (existsSync(file) ? statSync(file).size : 0);
  }, 0);
  report(true, `store: ${paths.database} is writable, ${formatBytes(bytes)}`);
}

/** The shared PostgreSQL store answers, and which schema versions it holds. */
async function checkSharedStore(config: HeraldConfig, options: DoctorOptions, report: Report): Promise<void> {
  const where = storeLocation(config);
  try {
    const found = await checkPostgres(config.store.url!, options.upstreamTimeoutMs ?? 5_000);
    const versions = Object.entries(found.versions);
    const schema =
      versions.length === 0
        ? 'no schema yet (created by `herald store migrate` or the first serve)'
        : `schema ${versions.map(([store, version]) => `${store} v${version}`).join(', ')}`;
    report(true, `store: ${where} answers (server ${found.serverVersion}), ${schema}`);
  } catch (error) {
    report(
      false,
      `store: ${where}: ${message(error)} — fix: check store.url / HERALD_DATABASE_URL (host, port, user, password, database) and that the server accepts connections`,
    );
  }
}

async function checkPlatforms(config: HeraldConfig, options: DoctorOptions, report: Report): Promise<void> {
  const { telegram, discord, slack, whatsapp } = config.platforms;
  const roots = { telegram: telegram.api_root, ...options.apiRoots };
  const tokens: [TokenPlatform, string | undefined, string][] = [
    ['telegram', telegram.token, 'TELEGRAM_BOT_TOKEN'],
    ['discord', discord.token, 'DISCORD_BOT_TOKEN'],
    ['slack', slack.bot_token, 'SLACK_BOT_TOKEN'],
  ];
  for (const [platform, token, env] of tokens) {
    if (!token) continue;
    reportTokenCheck(
      platform,
      await checkPlatformToken(platform, token, roots, options.upstreamTimeoutMs),
      env,
      report,
    );
  }
  const { matrix, mattermost } = config.platforms;
  const timeoutMs = options.upstreamTimeoutMs;
  if (matrix.homeserver && matrix.access_token) {
    const check = await checkMatrixToken(matrix.access_token, { apiRoot: matrix.homeserver, timeoutMs });
    reportTokenCheck('matrix', check, 'MATRIX_ACCESS_TOKEN', report);
  }
  if (mattermost.url && mattermost.token) {
    const check = await checkMattermostToken(mattermost.token, { apiRoot: mattermost.url, timeoutMs });
    reportTokenCheck('mattermost', check, 'MATTERMOST_TOKEN', report);
  }
  if (slack.bot_token && !slack.app_token) {
    report(false, 'slack: no app-level token — fix: set SLACK_APP_TOKEN (xapp-…) for Socket Mode');
  }
  // Baileys' multi-file auth state holds `creds.json` once a device is linked.
  const dir = heraldPaths(config.home).whatsappAuth;
  const linked = existsSync(join(dir, 'creds.json'));
  if (whatsapp.enabled || linked) {
    report(
      linked,
      linked
        ? `whatsapp: linked (${dir})`
        : 'whatsapp: not linked — fix: run `herald whatsapp link` and scan the QR code',
    );
  }
  await checkEmailAndDingTalk(config, report);
}

function reportTokenCheck(platform: string, check: TokenCheck, env: string, report: Report): void {
  if (check.status === 'valid') report(true, `${platform}: token accepted (${check.identity})`);
  else if (check.status === 'rejected')
    report(
      false,
      `${platform}: the token was rejected (${check.reason}) — fix: set a new ${env} (\`herald setup\`)`,
    );
  else
    report(false, `${platform}: could not reach the API (${check.reason}) — fix: check the network or proxy`);
}

function checkNode(report: Report): void {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const [minMajor, minMinor] = minimumNode;
  const ok = major > minMajor || (major === minMajor && minor >= minMinor);
  report(
    ok,
    ok
      ? `node: ${process.version}`
      : `node: ${process.version} is too old — fix: use Node ${minMajor}.${minMinor} or later (npm start pins Node 24)`,
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
