/**
 * `herald setup --non-interactive`: the wizard's settings from command-line flags, for scripts and
 * containers. Only what a flag names changes; the rest of config.yaml and .env is kept. Every problem
 * is a one-line CliError (`setup_invalid`, exit 1) before anything is saved: an unknown provider, a
 * missing model, an exposed API without a key, a token the platform rejects. A token whose platform
 * cannot be reached is saved with a warning. A generated API key is printed once. Matrix, Mattermost,
 * email and DingTalk take their server details as flags too (`--matrix-homeserver`, `--email-imap-host`…)
 * and are checked live as `herald doctor` checks them; a Matrix password is traded for a token.
 */
import type { Writable } from 'node:stream';
import { type HeraldConfig, heraldPaths, type LoadedConfig, loadConfig } from '../config/index.ts';
import { isLoopbackBind } from '../gateway/platforms/api-server/index.ts';
import { CliError } from './cli-error.ts';
import { modelProviders } from './model-providers.ts';
import { checkPlatformToken, type PlatformApiRoots, type TokenPlatform } from './platform-token-check.ts';
import { type ApiToolPolicy, type PlatformChanges, type SetupChanges, saveSetup } from './save-setup.ts';
import { checkDoor, type DoorSettings, type ServerDoor, serverDoorLabels } from './setup-doors.ts';
import { generateApiServerKey, setupSummary } from './setup-summary.ts';
import { isPort, splitList } from './setup-values.ts';

export interface SetupFlags {
  provider?: string;
  baseUrl?: string;
  apiKey?: string;
  model?: string;
  /** --api-server / --no-api-server. */
  apiServer?: boolean;
  apiServerHost?: string;
  apiServerPort?: string;
  /** `generate`, `none`, `keep` or the key itself. */
  apiServerKey?: string;
  apiTools?: string;
  runAs?: string;
  telegramToken?: string;
  telegramAllowedUsers?: string;
  discordToken?: string;
  discordAllowedUsers?: string;
  slackBotToken?: string;
  slackAppToken?: string;
  slackAllowedUsers?: string;
  whatsapp?: boolean;
  matrixHomeserver?: string;
  matrixToken?: string;
  matrixUserId?: string;
  matrixPassword?: string;
  matrixAllowedUsers?: string;
  mattermostUrl?: string;
  mattermostToken?: string;
  mattermostAllowedUsers?: string;
  emailAddress?: string;
  emailImapHost?: string;
  emailImapPort?: string;
  emailImapUser?: string;
  emailImapPassword?: string;
  emailImapTls?: boolean;
  emailSmtpHost?: string;
  emailSmtpPort?: string;
  emailSmtpUser?: string;
  emailSmtpPassword?: string;
  emailSmtpTls?: boolean;
  emailAllowedSenders?: string;
  dingtalkClientId?: string;
  dingtalkClientSecret?: string;
  dingtalkAllowedUsers?: string;
  /** --no-check-tokens skips the live token and login checks. */
  checkTokens?: boolean;
}

export interface FlagSetupOptions {
  output: Writable;
  env?: Record<string, string | undefined>;
  /** API roots of the token checks (tests: the local fakes); Telegram's defaults to its configured one. */
  apiRoots?: PlatformApiRoots;
}

const apiToolPolicies: readonly ApiToolPolicy[] = ['full', 'read-only', 'none'];

type DoorFlagKind = 'text' | 'url' | 'port' | 'switch' | 'list';

/** The flags of the doors set up by server details: flag, the config key it sets, and its shape. */
const doorFlags: Record<ServerDoor, [keyof SetupFlags, string, DoorFlagKind][]> = {
  matrix: [
    ['matrixHomeserver', 'platforms.matrix.homeserver', 'url'],
    ['matrixToken', 'platforms.matrix.access_token', 'text'],
    ['matrixUserId', 'platforms.matrix.user_id', 'text'],
    ['matrixPassword', 'platforms.matrix.password', 'text'],
    ['matrixAllowedUsers', 'platforms.matrix.allowed_users', 'list'],
  ],
  mattermost: [
    ['mattermostUrl', 'platforms.mattermost.url', 'url'],
    ['mattermostToken', 'platforms.mattermost.token', 'text'],
    ['mattermostAllowedUsers', 'platforms.mattermost.allowed_users', 'list'],
  ],
  email: [
    ['emailAddress', 'platforms.email.address', 'text'],
    ['emailImapHost', 'platforms.email.imap.host', 'text'],
    ['emailImapPort', 'platforms.email.imap.port', 'port'],
    ['emailImapUser', 'platforms.email.imap.user', 'text'],
    ['emailImapPassword', 'platforms.email.imap.password', 'text'],
    ['emailImapTls', 'platforms.email.imap.tls', 'switch'],
    ['emailSmtpHost', 'platforms.email.smtp.host', 'text'],
    ['emailSmtpPort', 'platforms.email.smtp.port', 'port'],
    ['emailSmtpUser', 'platforms.email.smtp.user', 'text'],
    ['emailSmtpPassword', 'platforms.email.smtp.password', 'text'],
    ['emailSmtpTls', 'platforms.email.smtp.tls', 'switch'],
    ['emailAllowedSenders', 'platforms.email.allowed_senders', 'list'],
  ],
  dingtalk: [
    ['dingtalkClientId', 'platforms.dingtalk.client_id', 'text'],
    ['dingtalkClientSecret', 'platforms.dingtalk.client_secret', 'text'],
    ['dingtalkAllowedUsers', 'platforms.dingtalk.allowed_users', 'list'],
  ],
};

export async function runSetupFromFlags(
  loaded: LoadedConfig,
  flags: SetupFlags,
  options: FlagSetupOptions,
): Promise<void> {
  const { config } = loaded;
  const changes: SetupChanges = {};
  const modelChanges = modelFromFlags(config.model, flags);
  if (modelChanges) changes.model = modelChanges;

  const generatedKey = flags.apiServerKey === 'generate' ? generateApiServerKey() : undefined;
  const apiServer = apiServerFromFlags(loaded, flags, generatedKey);
  if (apiServer) changes.apiServer = apiServer;

  if (flags.apiTools !== undefined) {
    if (!apiToolPolicies.includes(flags.apiTools as ApiToolPolicy))
      invalid(`--api-tools must be one of ${apiToolPolicies.join(', ')}`);
    changes.apiTools = flags.apiTools as ApiToolPolicy;
  }
  if (flags.runAs !== undefined) changes.runAs = flags.runAs;

  const roots = { telegram: config.platforms.telegram.api_root, ...options.apiRoots };
  const platformFlags: Record<TokenPlatform, [string | undefined, string | undefined]> = {
    telegram: [flags.telegramToken, flags.telegramAllowedUsers],
    discord: [flags.discordToken, flags.discordAllowedUsers],
    slack: [flags.slackBotToken, flags.slackAllowedUsers],
  };
  for (const [platform, [token, users]] of Object.entries(platformFlags) as [
    TokenPlatform,
    [string?, string?],
  ][]) {
    const platformChanges: PlatformChanges = {};
    if (token !== undefined) {
      if (flags.checkTokens !== false) await checkToken(platform, token, roots, options.output);
      platformChanges.token = token;
    }
    if (users !== undefined) platformChanges.allowedUsers = splitList(users);
    if (platform === 'slack' && flags.slackAppToken !== undefined) {
      if (!flags.slackAppToken.startsWith('xapp-'))
        invalid('--slack-app-token must be an app-level token (xapp-…)');
      platformChanges.appToken = flags.slackAppToken;
    }
    if (Object.keys(platformChanges).length > 0) changes[platform] = platformChanges;
  }

  for (const door of Object.keys(doorFlags) as ServerDoor[]) {
    const settings = doorSettingsFromFlags(door, flags);
    if (!settings) continue;
    if (flags.checkTokens !== false) await checkDoorFlags(loaded.config, door, settings, options.output);
    changes.doorSettings = { ...changes.doorSettings, ...settings };
  }

  saveSetup(heraldPaths(config.home), changes);
  const saved = loadConfig({ home: config.home, env: options.env });
  const summary = setupSummary({ config: saved.config, generatedKey, whatsapp: flags.whatsapp });
  options.output.write(`${summary.join('\n')}\n`);
}

function modelFromFlags(current: LoadedConfig['config']['model'], flags: SetupFlags): SetupChanges['model'] {
  if (
    flags.provider === undefined &&
    flags.baseUrl === undefined &&
    flags.model === undefined &&
    flags.apiKey === undefined
  )
    return undefined;
  const provider = flags.provider === undefined ? undefined : modelProviders[flags.provider];
  if (flags.provider !== undefined && !provider)
    invalid(`Unknown --provider ${flags.provider}; known: ${Object.keys(modelProviders).join(', ')}`);
  const baseUrl = flags.baseUrl ?? (provider?.baseUrl || current.base_url);
  if (!baseUrl) invalid('Give --base-url (or --provider) with the model settings');
  if (!URL.canParse(baseUrl)) invalid(`--base-url ${baseUrl} is not a URL`);
  const model = flags.model ?? current.model;
  if (!model) invalid('Give --model: the upstream model id, e.g. anthropic/claude-sonnet-4');
  if (provider?.needsKey && !flags.apiKey && !current.api_key)
    invalid(`${provider.label} needs a key: give --api-key`);
  return { baseUrl, model, apiKey: flags.apiKey };
}

function apiServerFromFlags(
  loaded: LoadedConfig,
  flags: SetupFlags,
  generatedKey: string | undefined,
): SetupChanges['apiServer'] {
  const { api_server: current } = loaded.config;
  const changes: NonNullable<SetupChanges['apiServer']> = {};
  if (flags.apiServer !== undefined) changes.enabled = flags.apiServer;
  if (flags.apiServerHost !== undefined) changes.host = flags.apiServerHost;
  if (flags.apiServerPort !== undefined) {
    if (!isPort(flags.apiServerPort))
      invalid(`--api-server-port ${flags.apiServerPort} is not a port from 1 to 65535`);
    changes.port = Number(flags.apiServerPort);
  }
  const keyFlag = flags.apiServerKey;
  if (keyFlag === 'generate') changes.key = generatedKey;
  else if (keyFlag === 'none') changes.key = '';
  else if (keyFlag !== undefined && keyFlag !== 'keep') {
    if (keyFlag.length < 16)
      invalid('--api-server-key is too short: use 16 characters or more, or `generate`');
    changes.key = keyFlag;
  }
  const host = changes.host ?? current.host;
  const keyed = changes.key === undefined ? current.keys.length > 0 : changes.key !== '';
  const enabled = changes.enabled ?? current.enabled;
  if (enabled && !isLoopbackBind(host) && !keyed && !current.allow_unauthenticated)
    invalid(`An API on ${host} needs a key: add --api-server-key generate (or bind 127.0.0.1)`);
  return Object.keys(changes).length > 0 ? changes : undefined;
}

async function checkToken(platform: TokenPlatform, token: string, roots: PlatformApiRoots, output: Writable) {
  const check = await checkPlatformToken(platform, token, roots);
  if (check.status === 'rejected') invalid(`The ${platform} token was rejected: ${check.reason}`);
  if (check.status === 'unreachable')
    output.write(
      `warning: could not reach ${platform} to check the token (${check.reason}); saved unchecked\n`,
    );
}

/** The settings the door's flags name, or undefined when none was given. */
function doorSettingsFromFlags(door: ServerDoor, flags: SetupFlags): DoorSettings | undefined {
  const settings: DoorSettings = {};
  for (const [flag, key, kind] of doorFlags[door]) {
    const value = flags[flag];
    if (value === undefined) continue;
    const name = `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (kind === 'url' && !URL.canParse(String(value))) invalid(`${name} ${String(value)} is not a URL`);
    if (kind === 'port' && !isPort(String(value)))
      invalid(`${name} ${String(value)} is not a port from 1 to 65535`);
    if (kind === 'switch') settings[key] = value === true;
    else if (kind === 'port') settings[key] = Number(value);
    else if (kind === 'list') {
      const items = splitList(String(value));
      settings[key] = door === 'email' ? items.map((item) => item.toLowerCase()) : items;
    } else settings[key] = String(value);
  }
  return Object.keys(settings).length > 0 ? settings : undefined;
}

/** The live checks `herald doctor` runs; a refusal stops setup, an unreachable server is a warning. */
async function checkDoorFlags(
  config: HeraldConfig,
  door: ServerDoor,
  settings: DoorSettings,
  output: Writable,
) {
  for (const { what, check } of await checkDoor(config, door, settings)) {
    if (check.status === 'rejected')
      invalid(`${serverDoorLabels[door]} rejected the ${what}: ${check.reason}`);
    if (check.status === 'unreachable')
      output.write(
        `warning: could not reach ${serverDoorLabels[door]} to check the ${what} (${check.reason}); saved unchecked\n`,
      );
  }
}

function invalid(message: string): never {
  throw new CliError('setup_invalid', message);
}
