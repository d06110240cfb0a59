/**
 * The environment variables Herald reads (design.md §4) and how each maps onto a dotted config key.
 * Values are converted from text here (booleans, integers, comma lists) but not validated: a value that
 * does not convert is passed through as text so the schema rejects it with the env var named as its
 * source. Precedence between env, config.yaml and defaults is applied by load-config.ts.
 */

type EnvValueKind = 'string' | 'boolean' | 'integer' | 'list';

export interface EnvBinding {
  env: string;
  /** Dotted config key the variable sets. */
  key: string;
  kind: EnvValueKind;
  /** Turns the variable's text into the key's value when they differ in form. */
  derive?: (raw: string) => string;
}

/** Herald's own variables: they beat config.yaml. */
export const envBindings: readonly EnvBinding[] = [
  { env: 'HERALD_BASE_URL', key: 'model.base_url', kind: 'string' },
  { env: 'HERALD_API_KEY', key: 'model.api_key', kind: 'string' },
  { env: 'HERALD_MODEL', key: 'model.model', kind: 'string' },
  { env: 'API_SERVER_ENABLED', key: 'api_server.enabled', kind: 'boolean' },
  { env: 'API_SERVER_HOST', key: 'api_server.host', kind: 'string' },
  { env: 'API_SERVER_PORT', key: 'api_server.port', kind: 'integer' },
  { env: 'API_SERVER_KEY', key: 'api_server.keys', kind: 'list' },
  { env: 'API_SERVER_CORS_ORIGINS', key: 'api_server.cors_origins', kind: 'list' },
  { env: 'TELEGRAM_BOT_TOKEN', key: 'platforms.telegram.token', kind: 'string' },
  { env: 'TELEGRAM_REPLY_TO_MODE', key: 'platforms.telegram.reply_to_mode', kind: 'string' },
  { env: 'TELEGRAM_API_ROOT', key: 'platforms.telegram.api_root', kind: 'string' },
  { env: 'DISCORD_BOT_TOKEN', key: 'platforms.discord.token', kind: 'string' },
  { env: 'SLACK_BOT_TOKEN', key: 'platforms.slack.bot_token', kind: 'string' },
  { env: 'SLACK_APP_TOKEN', key: 'platforms.slack.app_token', kind: 'string' },
  { env: 'WHATSAPP_REPLY_PREFIX', key: 'platforms.whatsapp.reply_prefix', kind: 'string' },
  { env: 'EMAIL_IMAP_HOST', key: 'platforms.email.imap.host', kind: 'string' },
  { env: 'EMAIL_IMAP_PORT', key: 'platforms.email.imap.port', kind: 'integer' },
  { env: 'EMAIL_IMAP_USER', key: 'platforms.email.imap.user', kind: 'string' },
  { env: 'EMAIL_IMAP_PASSWORD', key: 'platforms.email.imap.password', kind: 'string' },
  { env: 'EMAIL_IMAP_TLS', key: 'platforms.email.imap.tls', kind: 'boolean' },
  { env: 'EMAIL_SMTP_HOST', key: 'platforms.email.smtp.host', kind: 'string' },
  { env: 'EMAIL_SMTP_PORT', key: 'platforms.email.smtp.port', kind: 'integer' },
  { env: 'EMAIL_SMTP_USER', key: 'platforms.email.smtp.user', kind: 'string' },
  { env: 'EMAIL_SMTP_PASSWORD', key: 'platforms.email.smtp.password', kind: 'string' },
  { env: 'EMAIL_SMTP_TLS', key: 'platforms.email.smtp.tls', kind: 'boolean' },
  { env: 'EMAIL_ADDRESS', key: 'platforms.email.address', kind: 'string' },
  { env: 'DINGTALK_CLIENT_ID', key: 'platforms.dingtalk.client_id', kind: 'string' },
  { env: 'DINGTALK_CLIENT_SECRET', key: 'platforms.dingtalk.client_secret', kind: 'string' },
  { env: 'HERALD_DATABASE_URL', key: 'store.url', kind: 'string' },
  { env: 'MATRIX_HOMESERVER', key: 'platforms.matrix.homeserver', kind: 'string' },
  { env: 'MATRIX_ACCESS_TOKEN', key: 'platforms.matrix.access_token', kind: 'string' },
  { env: 'MATRIX_USER_ID', key: 'platforms.matrix.user_id', kind: 'string' },
  { env: 'MATRIX_PASSWORD', key: 'platforms.matrix.password', kind: 'string' },
  { env: 'MATTERMOST_URL', key: 'platforms.mattermost.url', kind: 'string' },
  { env: 'MATTERMOST_TOKEN', key: 'platforms.mattermost.token', kind: 'string' },
  { env: 'HERALD_LOG_LEVEL', key: 'logging.level', kind: 'string' },
  { env: 'HERALD_LOG_FORMAT', key: 'logging.format', kind: 'string' },
  { env: 'HERALD_TRACING', key: 'tracing.enabled', kind: 'boolean' },
];

/**
 * Other tools' variables, honoured only when neither a Herald variable nor config.yaml sets the key, so a
 * stray OPENAI_API_KEY in a shell never overrides the upstream a user configured for Herald.
 * Earlier entries win over later ones for the same key.
 */
export const fallbackEnvBindings: readonly EnvBinding[] = [
  { env: 'OPENAI_BASE_URL', key: 'model.base_url', kind: 'string' },
  { env: 'OPENAI_API_KEY', key: 'model.api_key', kind: 'string' },
  { env: 'OPENROUTER_API_KEY', key: 'model.api_key', kind: 'string' },
  // OpenTelemetry's standard variables, so a deployment that sets them for every service needs no more.
  { env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', key: 'tracing.endpoint', kind: 'string' },
  {
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    key: 'tracing.endpoint',
    kind: 'string',
    // The OTLP spec: this one is the collector's base URL, under which traces go to `v1/traces`.
    derive: (raw) => `${raw.replace(/\/+$/, '')}/v1/traces`,
  },
  { env: 'OTEL_SERVICE_NAME', key: 'tracing.service_name', kind: 'string' },
];

/** Where OPENROUTER_API_KEY / OPENAI_API_KEY point when no base URL is set anywhere. */
const fallbackBaseUrls: Readonly<Record<string, string>> = {
  OPENROUTER_API_KEY: 'https://openrouter.ai/api/v1',
  OPENAI_API_KEY: 'https://api.openai.com/v1',
};

export interface EnvOverride {
  key: string;
  value: unknown;
  /** The variable the value came from. */
  env: string;
}

/** The overrides `env` asks for, in binding order. Empty values count as unset (common in .env templates). */
export function envOverrides(env: Record<string, string | undefined>): EnvOverride[] {
  const overrides: EnvOverride[] = [];
  for (const binding of envBindings) {
    const raw = env[binding.env]?.trim();
    if (raw)
      overrides.push({ key: binding.key, value: convertEnvValue(raw, binding.kind), env: binding.env });
  }
  return overrides;
}

/**
 * The fallback overrides for keys that `isSet` reports as unset, including the implied base URL of a
 * provider key (OpenRouter's or OpenAI's) when nothing sets a base URL.
 */
export function fallbackEnvOverrides(
  env: Record<string, string | undefined>,
  isSet: (key: string) => boolean,
): EnvOverride[] {
  const overrides: EnvOverride[] = [];
  const taken = new Set<string>();
  for (const binding of fallbackEnvBindings) {
    const raw = env[binding.env]?.trim();
    if (!raw || taken.has(binding.key) || isSet(binding.key)) continue;
    taken.add(binding.key);
    const value = convertEnvValue(binding.derive ? binding.derive(raw) : raw, binding.kind);
    overrides.push({ key: binding.key, value, env: binding.env });
    const impliedBaseUrl = fallbackBaseUrls[binding.env];
    if (impliedBaseUrl && !taken.has('model.base_url') && !isSet('model.base_url')) {
      taken.add('model.base_url');
      overrides.push({ key: 'model.base_url', value: impliedBaseUrl, env: binding.env });
    }
  }
  return overrides;
}

const trueWords = new Set(['true', '1', 'yes', 'on']);
const falseWords = new Set(['false', '0', 'no', 'off']);

function convertEnvValue(raw: string, kind: EnvValueKind): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'boolean': {
      const word = raw.toLowerCase();
      if (trueWords.has(word)) return true;
      if (falseWords.has(word)) return false;
      return raw;
    }
    case 'integer':
      return /^[+-]?\d+$/.test(raw) ? Number(raw) : raw;
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}
