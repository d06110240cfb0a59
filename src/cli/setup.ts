/**
 * `herald setup`, interactive: a wizard that configures every door — the model (provider, key, a model
 * from the server's live list), the API server (on/off, host, port, a generated key, the Open WebUI
 * line), the chat platforms (tokens checked live, allowed users; WhatsApp links separately) and the
 * tools API clients may use — then saves through save-setup.ts. It is safe to re-run: every question
 * starts from the current value, and unrelated settings and comments are kept. On a config upgraded
 * from an older version it asks only about steps with options introduced since, unless `all`. The
 * questions go through a SetupPrompter, so tests script them; the non-interactive way is setup-flags.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import {
  type HeraldConfig,
  heraldPaths,
  introducedIn,
  type LoadedConfig,
  loadConfig,
  upgradedFrom,
} from '../config/index.ts';
import { isLoopbackBind } from '../gateway/platforms/api-server/index.ts';
import { CliError } from './cli-error.ts';
import { listUpstreamModels } from './list-upstream-models.ts';
import { modelProviders } from './model-providers.ts';
import { checkPlatformToken, type PlatformApiRoots, type TokenPlatform } from './platform-token-check.ts';
import {
  type ApiToolPolicy,
  apiToolPolicyOf,
  type PlatformChanges,
  type SetupChanges,
  saveSetup,
} from './save-setup.ts';
import { askServerDoor } from './setup-door-questions.ts';
import { isServerDoor, type ServerDoor, serverDoorLabels } from './setup-doors.ts';
import { clackPrompter, type SetupPrompter } from './setup-prompter.ts';
import { exposedBindWarning, generateApiServerKey, setupSummary } from './setup-summary.ts';
import { isPort, splitList } from './setup-values.ts';

export interface SetupOptions {
  /** Default: @clack/prompts on the terminal. */
  prompter?: SetupPrompter;
  /** Every step, even on an upgraded config. */
  all?: boolean;
  /** The environment config is reloaded with after saving; default process.env. */
  env?: Record<string, string | undefined>;
  /** API roots of the token checks (tests: the local fakes); Telegram's defaults to its configured one. */
  apiRoots?: PlatformApiRoots;
  /** Links WhatsApp (QR code in the terminal); default the platform's `linkWhatsApp`. */
  linkWhatsApp?: (home: string) => Promise<void>;
}

interface Wizard {
  config: HeraldConfig;
  prompter: SetupPrompter;
  roots: PlatformApiRoots;
  changes: SetupChanges;
  generatedKey?: string;
  whatsapp?: boolean;
}

interface Step {
  title: string;
  /** The config keys the step sets: it runs on an upgraded config if one is newer than the old version. */
  keys: readonly string[];
  run(wizard: Wizard): Promise<void>;
}

const steps: readonly Step[] = [
  { title: 'Model', keys: ['model.base_url', 'model.api_key', 'model.model'], run: askModel },
  {
    title: 'API server',
    keys: ['api_server.enabled', 'api_server.host', 'api_server.port', 'api_server.keys'],
    run: askApiServer,
  },
  {
    title: 'Chat platforms',
    keys: [
      'platforms.telegram',
      'platforms.discord',
      'platforms.slack',
      'platforms.whatsapp',
      'platforms.matrix',
      'platforms.mattermost',
      'platforms.email',
      'platforms.dingtalk',
    ],
    run: askPlatforms,
  },
  { title: 'Tools', keys: ['toolsets.api', 'tools.run_as'], run: askTools },
];

export async function runSetup(loaded: LoadedConfig, options: SetupOptions = {}): Promise<void> {
  if (!options.prompter && !process.stdin.isTTY) {
    throw new CliError(
      'cancelled',
      'herald setup needs a terminal; use `herald setup --non-interactive` with flags (see `herald setup --help`).',
    );
  }
  const prompter = options.prompter ?? clackPrompter();
  const { config } = loaded;
  const paths = heraldPaths(config.home);
  const wizard: Wizard = {
    config,
    prompter,
    roots: { telegram: config.platforms.telegram.api_root, ...options.apiRoots },
    changes: {},
  };
  prompter.intro('Herald setup');

  const since = options.all ? undefined : upgradeBaseline(paths.configFile);
  const chosen =
    since === undefined ? steps : steps.filter((s) => s.keys.some((k) => introducedIn(k) > since));
  if (since !== undefined) {
    prompter.info(
      `Your config was upgraded from version ${since}: asking only about what is new since (${chosen.map((s) => s.title).join(', ') || 'nothing'}). \`herald setup --all\` goes through every step.`,
    );
    wizard.changes.upgradeAnswered = true;
  }
  for (const step of chosen) {
    prompter.info(step.title);
    await step.run(wizard);
  }

  saveSetup(paths, wizard.changes);
  const saved = loadConfig({ home: config.home, env: options.env });
  const summary = setupSummary({
    config: saved.config,
    generatedKey: wizard.generatedKey,
    whatsapp: wizard.whatsapp,
  });
  for (const line of summary) prompter.info(line);
  if (
    wizard.whatsapp &&
    (await prompter.confirm({ message: 'Link WhatsApp now (QR code)?', initialValue: true }))
  ) {
    await (options.linkWhatsApp ?? linkWhatsAppHere)(config.home);
  }
  prompter.outro('Setup done.');
}

/** `herald whatsapp link` from inside setup; Baileys is loaded only when it is used. */
async function linkWhatsAppHere(home: string): Promise<void> {
  const { linkWhatsApp } = await import('../gateway/platforms/whatsapp/index.ts');
  await linkWhatsApp({ home, output: process.stdout });
}

/** The version a not-yet-answered upgrade came from (the marker migrate-config.ts leaves). */
function upgradeBaseline(configFile: string): number | undefined {
  if (!existsSync(configFile)) return undefined;
  return upgradedFrom(parseDocument(readFileSync(configFile, 'utf8')));
}

async function askModel(wizard: Wizard): Promise<void> {
  const { prompter, config } = wizard;
  const current = config.model;
  if (current.model && current.base_url) {
    const keep = await prompter.confirm({
      message: `Keep the model ${current.model} at ${current.base_url}?`,
      initialValue: true,
    });
    if (keep) return;
  }
  const providerId = await prompter.select({
    message: 'Which model provider?',
    options: Object.entries(modelProviders).map(([value, p]) => ({ value, label: p.label, hint: p.hint })),
  });
  const provider = modelProviders[providerId]!;
  const baseUrl = await prompter.text({
    message: 'Base URL (OpenAI-compatible, usually ending in /v1)',
    initialValue: provider.baseUrl || current.base_url || '',
    validate: (value) => (URL.canParse(value) ? undefined : 'Enter a URL such as http://localhost:8080/v1'),
  });
  const apiKey = await prompter.password({
    message: provider.needsKey ? 'API key' : 'API key (leave empty if the server needs none)',
    validate: (value) => (provider.needsKey && !value ? 'This provider needs an API key' : undefined),
  });
  const model = await chooseModel(prompter, baseUrl, apiKey, provider.exampleModel || current.model || '');
  wizard.changes.model = { baseUrl, model, apiKey };
}

/** Offers the server's own model ids when it lists them; otherwise asks for one. */
async function chooseModel(prompter: SetupPrompter, baseUrl: string, apiKey: string, example: string) {
  const models = await prompter.spin(
    'Asking the server for its models',
    () =>
      listUpstreamModels(baseUrl, { apiKey: apiKey || undefined, timeoutMs: 5000 }).catch(
        (error: Error) => error,
      ),
    (result) =>
      result instanceof Error
        ? `Could not list models (${result.message})`
        : `The server lists ${result.length} models`,
  );
  const other = '\u0000other';
  if (Array.isArray(models) && models.length > 0 && models.length <= 50) {
    const picked = await prompter.select({
      message: 'Model',
      options: [
        ...models.map((id) => ({ value: id, label: id })),
        { value: other, label: 'Another model id…' },
      ],
    });
    if (picked !== other) return picked;
  }
  const typed = await prompter.text({
    message: 'Model id',
    placeholder: example,
    validate: (value) => (value || example ? undefined : 'Enter the model id'),
  });
  return typed || example;
}

async function askApiServer(wizard: Wizard): Promise<void> {
  const { prompter, config } = wizard;
  const api = config.api_server;
  const enabled = await prompter.confirm({
    message: 'Serve the OpenAI-compatible API (for Open WebUI, SDKs, agent frameworks)?',
    initialValue: api.enabled,
  });
  if (!enabled) {
    wizard.changes.apiServer = { enabled: false };
    return;
  }
  const host = await prompter.text({
    message: 'Address to listen on (127.0.0.1 = this machine only; 0.0.0.0 = every network)',
    initialValue: api.host,
    validate: (value) => (value ? undefined : 'Enter an address such as 127.0.0.1'),
  });
  const loopback = isLoopbackBind(host);
  if (!loopback) prompter.warn(exposedBindWarning(host));
  const port = Number(
    await prompter.text({
      message: 'Port',
      initialValue: String(api.port),
      validate: (value) => (isPort(value) ? undefined : 'Enter a port from 1 to 65535'),
    }),
  );
  const hasKey = api.keys.length > 0;
  type KeyChoice = 'keep' | 'generate' | 'none';
  const keyChoice = await prompter.select<KeyChoice>({
    message: 'API key clients must send',
    options: [
      ...(hasKey ? [{ value: 'keep' as const, label: 'Keep the current key' }] : []),
      { value: 'generate', label: 'Generate a new strong key', hint: 'shown once' },
      ...(loopback ? [{ value: 'none' as const, label: 'No key', hint: 'this machine only' }] : []),
    ],
    initialValue: hasKey ? 'keep' : 'generate',
  });
  let key: string | undefined;
  if (keyChoice === 'generate') {
    key = generateApiServerKey();
    wizard.generatedKey = key;
  } else if (keyChoice === 'none') key = '';
  wizard.changes.apiServer = { enabled: true, host, port, key };
}

type PlatformChoice = TokenPlatform | 'whatsapp' | ServerDoor;

const platformLabels: Record<PlatformChoice, string> = {
  telegram: 'Telegram',
  discord: 'Discord',
  slack: 'Slack',
  whatsapp: 'WhatsApp',
  ...serverDoorLabels,
};

async function askPlatforms(wizard: Wizard): Promise<void> {
  const { prompter, config } = wizard;
  const configured = {
    telegram: !!config.platforms.telegram.token,
    discord: !!config.platforms.discord.token,
    slack: !!config.platforms.slack.bot_token,
    whatsapp: config.platforms.whatsapp.enabled === true,
    matrix: !!config.platforms.matrix.homeserver,
    mattermost: !!config.platforms.mattermost.url,
    email: !!config.platforms.email.imap.host,
    dingtalk: !!config.platforms.dingtalk.client_id,
  };
  const chosen = await prompter.multiselect<PlatformChoice>({
    message: 'Which chat platforms do you want to set up now? (the others stay as they are)',
    options: (Object.keys(platformLabels) as PlatformChoice[]).map((value) => ({
      value,
      label: platformLabels[value],
      hint: configured[value] ? 'configured' : undefined,
    })),
  });
  for (const platform of chosen) {
    if (platform === 'whatsapp') {
      wizard.whatsapp = true;
      prompter.info(
        'WhatsApp links to a phone by QR code: setup offers it at the end (or run `herald whatsapp link`).',
      );
      continue;
    }
    if (isServerDoor(platform)) {
      const settings = await askServerDoor(prompter, config, platform);
      if (settings) wizard.changes.doorSettings = { ...wizard.changes.doorSettings, ...settings };
      continue;
    }
    const changes: PlatformChanges = {};
    changes.token = await askToken(wizard, platform, configured[platform]);
    if (platform === 'slack') {
      changes.appToken = await prompter.password({
        message: 'Slack app-level token for Socket Mode (xapp-…)',
        validate: (value) =>
          value.startsWith('xapp-') || (!value && config.platforms.slack.app_token)
            ? undefined
            : 'An app-level token starts with xapp-',
      });
      if (!changes.appToken) changes.appToken = undefined;
    }
    const current = config.platforms[platform].allowed_users;
    const users = await prompter.text({
      message: `${platformLabels[platform]} user ids allowed to talk to the bot (comma-separated; nobody else is answered)`,
      initialValue: current.join(', '),
    });
    changes.allowedUsers = splitList(users);
    if (changes.allowedUsers.length === 0) {
      prompter.warn(
        `No ${platformLabels[platform]} users allowed yet: the bot answers nobody until you add some.`,
      );
    }
    wizard.changes[platform] = changes;
  }
}

/** Asks for a token until the platform accepts it (or cannot be reached); empty keeps the current one. */
async function askToken(
  wizard: Wizard,
  platform: TokenPlatform,
  hasToken: boolean,
): Promise<string | undefined> {
  const { prompter } = wizard;
  const label = platformLabels[platform];
  for (;;) {
    const token = await prompter.password({
      message: `${label} bot token${hasToken ? ' (empty keeps the current one)' : ''}`,
      validate: (value) => (value || hasToken ? undefined : `Enter the ${label} bot token`),
    });
    if (!token) return undefined;
    const check = await prompter.spin(
      `Checking the token with ${label}`,
      () => checkPlatformToken(platform, token, wizard.roots),
      (result) =>
        result.status === 'valid'
          ? `${label} knows this token: ${result.identity}`
          : result.status === 'rejected'
            ? `${label} rejected the token: ${result.reason}`
            : `Could not reach ${label} to check the token (${result.reason}); it is saved unchecked`,
    );
    if (check.status !== 'rejected') return token;
  }
}

async function askTools(wizard: Wizard): Promise<void> {
  const { prompter, config } = wizard;
  const current = apiToolPolicyOf(config.toolsets['api']);
  type ToolChoice = ApiToolPolicy | 'keep';
  const apiTools = await prompter.select<ToolChoice>({
    message: 'Which tools may requests to the API use?',
    options: [
      ...(current ? [] : [{ value: 'keep' as const, label: 'Keep the current toolsets.api list' }]),
      { value: 'full', label: 'All tools', hint: 'shell commands, file edits, web' },
      { value: 'read-only', label: 'Read-only', hint: 'read and search files, fetch web pages' },
      { value: 'none', label: 'No tools', hint: 'a plain chat API' },
    ],
    initialValue: current ?? 'keep',
  });
  if (apiTools !== 'keep') wizard.changes.apiTools = apiTools;
  const runAs = config.tools.run_as;
  const runAsChoice = await prompter.select({
    message: 'Who do tool commands run as?',
    options: [
      { value: 'auto', label: 'auto', hint: "nobody when Herald runs as root, else Herald's own user" },
      { value: 'off', label: "Herald's own user, always" },
      ...(runAs === 'auto' || runAs === 'off' ? [] : [{ value: runAs, label: runAs, hint: 'current' }]),
    ],
    initialValue: runAs,
  });
  if (runAsChoice !== runAs) wizard.changes.runAs = runAsChoice;
}
