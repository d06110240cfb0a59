/**
 * Saves what `herald setup` decided, interactive or not: secrets (the upstream key, the API server key,
 * platform tokens) into HERALD_HOME/.env (mode 0600) under the env vars Herald reads, everything else
 * into config.yaml with comments kept. A secret moved to .env is removed from config.yaml so one value
 * is in force. Only what `changes` names is touched; deciding and validating is the wizard's job.
 */
import { clearUpgradeMark, envBindings, type HeraldPaths, isSecretKey } from '../config/index.ts';
import { editConfigFile, setConfigValue } from './config-document.ts';
import { setEnvFileValue } from './save-model-settings.ts';

/** What the API may use: every tool, the read-only ones, or none (a plain chat API). */
export type ApiToolPolicy = 'full' | 'read-only' | 'none';

/** The read-only toolset: reading files and the web, no commands, no writes. */
export const readOnlyTools = ['read_file', 'search_files', 'web_fetch'] as const;

export interface PlatformChanges {
  /** A new token (to .env); undefined = unchanged. */
  token?: string;
  /** Slack's app-level token (xapp-…). */
  appToken?: string;
  /** Replaces `allowed_users`; undefined = unchanged. */
  allowedUsers?: string[];
}

export type DoorSetting = string | number | boolean | string[];

export interface SetupChanges {
  model?: { baseUrl: string; model: string; apiKey?: string };
  apiServer?: {
    enabled?: boolean;
    host?: string;
    port?: number;
    /** A key to set (API_SERVER_KEY in .env); `''` removes it; undefined keeps the current one. */
    key?: string;
  };
  telegram?: PlatformChanges;
  discord?: PlatformChanges;
  slack?: PlatformChanges;
  /**
   * Settings of the doors set up by server details (Matrix, Mattermost, email, DingTalk), by dotted
   * config key (`platforms.email.imap.host`): secrets go to .env under the env var that sets the key,
   * the rest to config.yaml.
   */
  doorSettings?: Record<string, DoorSetting>;
  apiTools?: ApiToolPolicy;
  /** `tools.run_as`. */
  runAs?: string;
  /** The wizard asked about what the last config upgrade introduced: drop the marker. */
  upgradeAnswered?: boolean;
}

/** Env var of each secret, and the config.yaml key a value there would otherwise shadow. */
const secrets = {
  telegram: { token: ['TELEGRAM_BOT_TOKEN', 'platforms.telegram.token'] },
  discord: { token: ['DISCORD_BOT_TOKEN', 'platforms.discord.token'] },
  slack: {
    token: ['SLACK_BOT_TOKEN', 'platforms.slack.bot_token'],
    appToken: ['SLACK_APP_TOKEN', 'platforms.slack.app_token'],
  },
} as const;

export function saveSetup(paths: HeraldPaths, changes: SetupChanges): void {
  const envValues: [string, string][] = [];
  editConfigFile(paths, (document) => {
    const set = (key: string, value: unknown) => setConfigValue(document, key.split('.'), value);
    if (changes.model) {
      set('model.base_url', changes.model.baseUrl);
      set('model.model', changes.model.model);
      if (changes.model.apiKey !== undefined) {
        set('model.api_key', undefined);
        envValues.push(['HERALD_API_KEY', changes.model.apiKey]);
      }
    }
    const api = changes.apiServer;
    if (api) {
      if (api.enabled !== undefined) set('api_server.enabled', api.enabled);
      if (api.host !== undefined) set('api_server.host', api.host);
      if (api.port !== undefined) set('api_server.port', api.port);
      if (api.key !== undefined) envValues.push(['API_SERVER_KEY', api.key]);
    }
    for (const platform of ['telegram', 'discord', 'slack'] as const) {
      const platformChanges = changes[platform];
      if (!platformChanges) continue;
      if (platformChanges.allowedUsers)
        set(`platforms.${platform}.allowed_users`, platformChanges.allowedUsers);
      for (const [field, [env, key]] of Object.entries(secrets[platform])) {
        const value = platformChanges[field as keyof typeof secrets.slack];
        if (value === undefined) continue;
        set(key, undefined);
        envValues.push([env, value]);
      }
    }
    for (const [key, value] of Object.entries(changes.doorSettings ?? {})) {
      if (!isSecretKey(key)) {
        set(key, value);
        continue;
      }
      const binding = envBindings.find((candidate) => candidate.key === key);
      if (!binding) throw new Error(`No env var holds the secret ${key}`);
      set(key, undefined);
      envValues.push([binding.env, String(value)]);
    }
    if (changes.apiTools) set('toolsets.api', toolsetFor(changes.apiTools));
    if (changes.runAs !== undefined) set('tools.run_as', changes.runAs);
    if (changes.upgradeAnswered) clearUpgradeMark(document);
  });
  for (const [name, value] of envValues) setEnvFileValue(paths.envFile, name, value);
}

/** The `toolsets.api` list of a policy; undefined (no entry) = every tool, the built-in default. */
function toolsetFor(policy: ApiToolPolicy): string[] | undefined {
  switch (policy) {
    case 'full':
      return undefined;
    case 'read-only':
      return [...readOnlyTools];
    case 'none':
      return [];
    default: {
      const unreachable: never = policy;
      return unreachable;
    }
  }
}

/** The policy a configured `toolsets.api` amounts to, or undefined for a custom list. */
export function apiToolPolicyOf(toolset: readonly string[] | undefined): ApiToolPolicy | undefined {
  if (toolset === undefined) return 'full';
  if (toolset.length === 0) return 'none';
  const sorted = [...toolset].sort();
  return sorted.join() === [...readOnlyTools].sort().join() ? 'read-only' : undefined;
}
