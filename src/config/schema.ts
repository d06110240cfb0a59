/**
 * The one typed configuration object and its zod schema. Every key has its default here, so a
 * missing config.yaml and an empty environment still produce a complete, valid config. Loading,
 * precedence (env > config.yaml > defaults) and error reporting live in load-config.ts; this file only
 * says what a valid config is.
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** How a platform streams replies; every key optional per platform, falling back to `streaming:`. */
const streamingOverrides = z
  .object({
    enabled: z.boolean().optional(),
    edit_interval_ms: positiveInt.optional(),
    group_edit_interval_ms: positiveInt.optional(),
    first_chunk_chars: positiveInt.optional(),
    tool_progress: z.boolean().optional(),
  })
  .strict()
  .default({});

/**
 * An API server key: a plain string, or a named key whose name is its stable owner id (rotate the key,
 * keep the name, keep the data) and shows in logs; `profiles` limits the models it may use.
 */
const apiKey = z.union([
  z.string().min(1),
  z
    .object({
      name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
      key: z.string().min(1),
      profiles: z.array(z.string().min(1)).optional(),
    })
    .strict(),
]);

/**
 * The config.yaml format version this Herald writes. A file without `config_version` is version 1;
 * older files are migrated at load (config-versions.ts holds one entry per version), newer ones refused.
 */
export const CONFIG_VERSION = 2;

/** Where an OpenTelemetry collector listens for OTLP/HTTP traces by default. */
const DEFAULT_TRACES_ENDPOINT = 'http://localhost:4318/v1/traces';

/** A name usable as the `<server>` in `<server>__<tool>` tool names. */
const mcpServerName = z.string().regex(/^[A-Za-z0-9-]{1,32}$/, 'letters, digits and dashes, at most 32');

/**
 * One MCP server: a local command spoken to over stdio (`command`), or a remote one over Streamable
 * HTTP with SSE fallback (`url`). Exactly one of the two.
 */
const mcpServer = z
  .object({
    enabled: z.boolean().default(true),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    /** Added to the allow-listed environment of the stdio server (never Herald's own). */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    cwd: z.string().optional(),
    url: z.url().optional(),
    transport: z.enum(['auto', 'streamable-http', 'sse']).default('auto'),
    headers: z.record(z.string(), z.string()).default({}),
    bearer_token: z.string().optional(),
    /** Seconds a tool call (and the initial connection) may take. */
    timeout_s: positiveInt.default(60),
  })
  .strict()
  .refine((server) => (server.command === undefined) !== (server.url === undefined), {
    message: 'set either command (a stdio server) or url (a remote server), not both',
  });

export type McpServerConfig = z.infer<typeof mcpServer>;

/** One mail server of `platforms.email` (IMAP or SMTP); `tls` false = plain, upgraded by STARTTLS when offered. */
function mailServer(port: number) {
  return z
    .object({
      host: z.string().optional(),
      port: positiveInt.default(port),
      user: z.string().optional(),
      password: z.string().optional(),
      tls: z.boolean().default(true),
    })
    .strict()
    .default({ port, tls: true });
}

const allowedUsers = z.array(z.union([z.string(), z.number()]).transform(String)).default([]);
const approvalMode = z.enum(['allow', 'ask', 'deny']);
/** Per tool name or glob (`github__*`): `allow` (the classifier may still ask), `ask` (every call), `deny`. */
const toolApprovals = z.record(z.string().min(1), approvalMode).default({});
/** Who may answer any approval request on a platform, besides the person who started the run. */
const admins = z.array(z.union([z.string(), z.number()]).transform(String)).optional();
/** Who may DM the bot: the allow-list only (default), strangers after `herald pairing approve`, or anyone. */
const dmPolicy = z.enum(['allowlist', 'pairing', 'open']).optional();
/** WhatsApp user ids are phone numbers: digits with country code; `+`, spaces and dashes are dropped. */
const phoneNumbers = z.array(
  z.union([z.string(), z.number()]).transform((n) => String(n).replace(/[^\d]/g, '')),
);

export const configSchema = z
  .object({
    /** Format version of config.yaml; migrate-config.ts brings older files up to CONFIG_VERSION. */
    config_version: z.number().int().min(1).max(CONFIG_VERSION).default(CONFIG_VERSION),
    model: z
      .object({
        /** OpenAI-compatible base URL, e.g. https://openrouter.ai/api/v1 or http://localhost:11434/v1. */
        base_url: z.url().optional(),
        api_key: z.string().optional(),
        /** Upstream model id. */
        model: z.string().min(1).optional(),
        timeout_s: positiveInt.default(600),
        max_retries: nonNegativeInt.default(3),
        /** Output token cap sent upstream when the caller gives none (avoids tiny server defaults). */
        max_tokens: positiveInt.optional(),
        /** Context window in tokens; unset = what the upstream's model list says, else 128000. */
        context_window: positiveInt.optional(),
        /**
         * How a system message in the middle of a conversation reaches the upstream: in place as a
         * `system` message, or as a `user` message for upstreams that reject a late system message.
         */
        mid_conversation_system: z.enum(['system', 'user']).default('system'),
        /** The model accepts images: images tools return (MCP servers) are shown to it, not only described. */
        supports_images: z.boolean().default(false),
      })
      .strict()
      .default({ timeout_s: 600, max_retries: 3, mid_conversation_system: 'system', supports_images: false }),
    agent: z
      .object({
        max_iterations: positiveInt.default(30),
        /** Working directory of the tools; default `$HERALD_HOME/workspace`. */
        workspace: z.string().optional(),
        /** Extra text appended to the core system prompt for every run. */
        system_prompt: z.string().optional(),
      })
      .strict()
      .default({ max_iterations: 30 }),
    tools: z
      .object({
        terminal: z
          .object({
            timeout_s: positiveInt.default(120),
            max_output_chars: positiveInt.default(50_000),
            /** Variables added to the tools' allow-listed environment; the only way Herald's own reach them. */
            env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
          })
          .strict()
          .default({ timeout_s: 120, max_output_chars: 50_000, env: {} }),
        files: z
          .object({
            max_read_bytes: positiveInt.default(1_000_000),
            max_read_lines: positiveInt.default(2_000),
            max_search_results: positiveInt.default(200),
          })
          .strict()
          .default({ max_read_bytes: 1_000_000, max_read_lines: 2_000, max_search_results: 200 }),
        web_fetch: z
          .object({
            timeout_s: positiveInt.default(20),
            max_bytes: positiveInt.default(5_000_000),
            max_chars: positiveInt.default(100_000),
            allow_private: z.boolean().default(false),
          })
          .strict()
          .default({ timeout_s: 20, max_bytes: 5_000_000, max_chars: 100_000, allow_private: false }),
        /** Who tool commands run as: `auto` (`nobody` when Herald is root), `off`, a user name, a uid or uid:gid. */
        run_as: z
          .union([
            z.string().regex(/^(?:[A-Za-z_][A-Za-z0-9_.-]*\$?|\d+(?::\d+)?)$/),
            nonNegativeInt.transform(String),
          ])
          .default('auto'),
      })
      .strict()
      .default({
        run_as: 'auto',
        terminal: { timeout_s: 120, max_output_chars: 50_000, env: {} },
        files: { max_read_bytes: 1_000_000, max_read_lines: 2_000, max_search_results: 200 },
        web_fetch: { timeout_s: 20, max_bytes: 5_000_000, max_chars: 100_000, allow_private: false },
      }),
    /** Which tool calls wait for a person (approval-policy.ts); `always` answers are kept in herald.db. */
    approvals: z
      .object({
        /** Seconds an approval request waits for an answer before it counts as a deny. */
        timeout_s: positiveInt.default(300),
        /** Calls the built-in classifier flags (rm -r, sudo, curl | sh, …): ask where a person can answer. */
        dangerous: approvalMode.default('ask'),
        tools: toolApprovals,
        /** Overrides per toolset (and so per profile, through its toolset). */
        toolsets: z
          .record(z.string(), z.object({ dangerous: approvalMode.optional(), tools: toolApprovals }).strict())
          .default({}),
      })
      .strict()
      .default({ timeout_s: 300, dangerous: 'ask', tools: {}, toolsets: {} }),
    /**
     * Named groups of tool names. `api`, `chat` and `cli` are the platforms' defaults. An entry may be
     * `mcp:<server>` (every tool of that MCP server) or `<server>__<tool>` (one MCP tool).
     */
    toolsets: z.record(z.string(), z.array(z.string())).default({}),
    /** MCP tool servers whose tools the agent may use (docs/mcp.md), by name. */
    mcp_servers: z.record(mcpServerName, mcpServer).default({}),
    /** Agent profiles served as models by the API server; `herald` always exists. */
    profiles: z
      .record(
        z.string().regex(/^[A-Za-z0-9._:/-]+$/),
        z
          .object({
            model: z.string().optional(),
            toolset: z.string().optional(),
            system_prompt: z.string().optional(),
          })
          .strict(),
      )
      .default({}),
    api_server: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8642),
        /** Bearer keys (strings or `{name, key, profiles?}`); several allowed. Empty = no auth, loopback only. */
        keys: z
          .array(apiKey)
          .default([])
          .refine(
            (keys) => {
              const names = keys.flatMap((k) => (typeof k === 'string' ? [] : [k.name]));
              return new Set(names).size === names.length;
            },
            { message: 'key names must be unique' },
          ),
        cors_origins: z.array(z.string()).optional(),
        allow_unauthenticated: z.boolean().default(false),
        max_body_bytes: positiveInt.default(10 * 1024 * 1024),
        max_concurrent_runs: positiveInt.default(32),
        /** Requests waiting for a run slot past max_concurrent_runs; beyond it, 429 at once. */
        max_queued_runs: nonNegativeInt.default(32),
        /** Seconds a queued request waits for a run slot before its 429. */
        queue_timeout_s: positiveInt.default(30),
        /** Seconds a client has to send its request headers (408 past it). */
        headers_timeout_s: positiveInt.default(20),
        /** Seconds a client has to send its whole request, headers and body (408 past it). */
        body_timeout_s: positiveInt.default(60),
        /** JSON bodies: deepest nesting of arrays/objects, longest array, longest string (400 past them). */
        max_json_depth: positiveInt.default(64),
        max_json_array_items: positiveInt.default(10_000),
        max_json_string_chars: positiveInt.default(10 * 1024 * 1024),
        /** Wrong keys from one client address within window_s before its requests get 429; max 0 = off. */
        auth_failures: z
          .object({
            max: nonNegativeInt.default(20),
            window_s: positiveInt.default(60),
            exempt_loopback: z.boolean().default(false),
          })
          .strict()
          .default({ max: 20, window_s: 60, exempt_loopback: false }),
        shutdown_grace_s: nonNegativeInt.default(10),
        /**
         * How Chat Completions streams show the agent's tool use: lines in `reasoning_content` (the
         * thinking panel of chat frontends), `herald.tool.progress` events, a line in the answer, or not.
         */
        tool_progress: z.enum(['reasoning', 'events', 'inline', 'off']).default('reasoning'),
        strict_models: z.boolean().default(false),
        heartbeat_s: positiveInt.default(15),
        responses: z
          .object({
            max_stored: positiveInt.default(10_000),
            max_age_days: positiveInt.default(30),
            /**
             * Deprecated and ignored: the agent's own tool use is always hosted `mcp_call` items
             * (function_call items are calls the client must run). Still accepted so older config
             * files load; the API server warns when it is set.
             */
            tool_items: z.enum(['auto', 'function_call', 'mcp_call']).optional(),
            /** Lifetime of a WebSocket-mode connection (OpenAI: 60 minutes); then the client reconnects. */
            websocket_max_connection_s: positiveInt.default(3600),
          })
          .strict()
          .default({ max_stored: 10_000, max_age_days: 30, websocket_max_connection_s: 3600 }),
        /** Frontends' background tasks (titles, tags…): `auto` serves them lightly, `agent` runs them as turns. */
        utility_requests: z.enum(['auto', 'agent']).default('auto'),
        /** Upstream model for utility requests; unset = the profile's model. */
        utility_model: z.string().min(1).optional(),
        /** How a chat stream that fails after opening ends: visible text plus the error frame, or the frame only. */
        stream_errors: z.enum(['content_and_error', 'error']).default('content_and_error'),
        /** `/health/ready` answers 503 while the upstream model's last call failed (within 60 s). */
        ready_requires_upstream: z.boolean().default(false),
        /** `GET /metrics` (Prometheus): served at all, and whether it needs the API key like the API. */
        metrics: z
          .object({ enabled: z.boolean().default(true), require_key: z.boolean().default(true) })
          .strict()
          .default({ enabled: true, require_key: true }),
        /** The browser chat at `/` (static files; every request it makes goes through the API's auth). */
        web_chat: z.boolean().default(true),
      })
      .strict()
      .default({
        enabled: true,
        host: '127.0.0.1',
        port: 8642,
        keys: [],
        allow_unauthenticated: false,
        max_body_bytes: 10 * 1024 * 1024,
        max_concurrent_runs: 32,
        max_queued_runs: 32,
        queue_timeout_s: 30,
        headers_timeout_s: 20,
        body_timeout_s: 60,
        max_json_depth: 64,
        max_json_array_items: 10_000,
        max_json_string_chars: 10 * 1024 * 1024,
        auth_failures: { max: 20, window_s: 60, exempt_loopback: false },
        shutdown_grace_s: 10,
        tool_progress: 'reasoning',
        strict_models: false,
        heartbeat_s: 15,
        responses: { max_stored: 10_000, max_age_days: 30, websocket_max_connection_s: 3600 },
        utility_requests: 'auto',
        stream_errors: 'content_and_error',
        ready_requires_upstream: false,
        metrics: { enabled: true, require_key: true },
        web_chat: true,
      }),
    gateway: z
      .object({
        interrupt_on_new_message: z.boolean().default(false),
        history_max_messages: positiveInt.default(1000),
        /** Seconds running chat replies may finish on shutdown before they are aborted. */
        shutdown_grace_s: nonNegativeInt.default(10),
      })
      .strict()
      .default({ interrupt_on_new_message: false, history_max_messages: 1000, shutdown_grace_s: 10 }),
    streaming: z
      .object({
        enabled: z.boolean().default(true),
        first_chunk_chars: positiveInt.default(30),
        /** Global override of the per-platform edit interval defaults (Telegram 1000, Discord 1200, Slack 1000, WhatsApp 3000, Matrix 2000, Mattermost 1000). */
        edit_interval_ms: positiveInt.optional(),
        /** Edit interval in group chats (platform default: Telegram and WhatsApp 3000, others as in private chats). */
        group_edit_interval_ms: positiveInt.optional(),
        tool_progress: z.boolean().default(true),
      })
      .strict()
      .default({ enabled: true, first_chunk_chars: 30, tool_progress: true }),
    platforms: z
      .object({
        telegram: z
          .object({
            enabled: z.boolean().optional(),
            token: z.string().optional(),
            allowed_users: allowedUsers,
            admins,
            dm_policy: dmPolicy,
            reply_to_mode: z.enum(['off', 'first', 'all']).default('first'),
            api_root: z.url().optional(),
            /** Bot API 9.5+ `sendMessageDraft` in private chats; edit-based streaming otherwise. */
            native_drafts: z.boolean().default(true),
            webhook: z
              .object({ url: z.url(), port: positiveInt.default(8443), secret: z.string().optional() })
              .strict()
              .optional(),
            streaming: streamingOverrides,
          })
          .strict()
          .default({ allowed_users: [], reply_to_mode: 'first', native_drafts: true, streaming: {} }),
        discord: z
          .object({
            enabled: z.boolean().optional(),
            token: z.string().optional(),
            allowed_users: allowedUsers,
            admins,
            dm_policy: dmPolicy,
            streaming: streamingOverrides,
          })
          .strict()
          .default({ allowed_users: [], streaming: {} }),
        slack: z
          .object({
            enabled: z.boolean().optional(),
            bot_token: z.string().optional(),
            app_token: z.string().optional(),
            allowed_users: allowedUsers,
            admins,
            dm_policy: dmPolicy,
            /** chat.startStream / appendStream / stopStream; edit-based streaming otherwise. */
            native_streaming: z.boolean().default(true),
            streaming: streamingOverrides,
          })
          .strict()
          .default({ allowed_users: [], native_streaming: true, streaming: {} }),
        matrix: z
          .object({
            enabled: z.boolean().optional(),
            /** Client-server API base URL, e.g. https://matrix.example.org. */
            homeserver: z.url().optional(),
            access_token: z.string().optional(),
            /** Full user id (`@herald:example.org`); with `password`, the alternative to a token. */
            user_id: z.string().optional(),
            password: z.string().optional(),
            allowed_users: allowedUsers,
            admins,
            dm_policy: dmPolicy,
            /** Join rooms when an allowed user invites the bot (invites from others are declined). */
            auto_join: z.boolean().default(true),
            streaming: streamingOverrides,
          })
          .strict()
          .default({ allowed_users: [], auto_join: true, streaming: {} }),
        mattermost: z
          .object({
            enabled: z.boolean().optional(),
            /** Server URL, e.g. https://chat.example.org. */
            url: z.url().optional(),
            /** Bot account or personal access token. */
            token: z.string().optional(),
            allowed_users: allowedUsers,
            admins,
            dm_policy: dmPolicy,
            streaming: streamingOverrides,
          })
          .strict()
          .default({ allowed_users: [], streaming: {} }),
        whatsapp: z
          .object({
            /** Unset: on when linked auth state exists in HERALD_HOME/whatsapp (`herald whatsapp link`). */
            enabled: z.boolean().optional(),
            allowed_users: phoneNumbers.default([]),
            admins: phoneNumbers.optional(),
            dm_policy: dmPolicy,
            /** Talk to the agent by messaging yourself ("Message yourself" chat). */
            self_chat: z.boolean().default(false),
            /**
             * Header before every reply. Unset: `⚕ *Herald*` and a newline; '' = none; `\n` escapes
             * become newlines. Kept optional so unset and '' stay distinguishable.
             */
            reply_prefix: z.string().optional(),
            streaming: streamingOverrides,
          })
          .strict()
          .default({ allowed_users: [], self_chat: false, streaming: {} }),
        email: z
          .object({
            enabled: z.boolean().optional(),
            /** The bot's own address: the From of replies, and never answered (loop guard). */
            address: z.string().optional(),
            imap: mailServer(993),
            smtp: mailServer(465),
            /** Addresses (`ann@example.com`) or whole domains (`@example.com`) whose mail is answered. */
            allowed_senders: z.array(z.string().trim().toLowerCase()).default([]),
            mailbox: z.string().min(1).default('INBOX'),
          })
          .strict()
          .default({
            imap: { port: 993, tls: true },
            smtp: { port: 465, tls: true },
            allowed_senders: [],
            mailbox: 'INBOX',
          }),
        dingtalk: z
          .object({
            enabled: z.boolean().optional(),
            client_id: z.string().optional(),
            client_secret: z.string().optional(),
            allowed_users: allowedUsers,
            admins,
            dm_policy: dmPolicy,
            /** AI card template id: replies stream into an AI card; unset = one Markdown message at the end. */
            card_template_id: z.string().optional(),
            /** The template's streaming Markdown variable. */
            card_content_key: z.string().min(1).default('content'),
            /** DingTalk's OpenAPI root (Stream gateway, tokens, cards); for proxies and tests. */
            api_root: z.url().default('https://api.dingtalk.com'),
            streaming: streamingOverrides,
          })
          .strict()
          .default({
            allowed_users: [],
            card_content_key: 'content',
            api_root: 'https://api.dingtalk.com',
            streaming: {},
          }),
      })
      .strict()
      .default({
        telegram: { allowed_users: [], reply_to_mode: 'first', native_drafts: true, streaming: {} },
        discord: { allowed_users: [], streaming: {} },
        slack: { allowed_users: [], native_streaming: true, streaming: {} },
        whatsapp: { allowed_users: [], self_chat: false, streaming: {} },
        email: {
          imap: { port: 993, tls: true },
          smtp: { port: 465, tls: true },
          allowed_senders: [],
          mailbox: 'INBOX',
        },
        dingtalk: {
          allowed_users: [],
          card_content_key: 'content',
          api_root: 'https://api.dingtalk.com',
          streaming: {},
        },
        matrix: { allowed_users: [], auto_join: true, streaming: {} },
        mattermost: { allowed_users: [], streaming: {} },
      }),
    /** Where state lives: SQLite in HERALD_HOME, or a PostgreSQL server shared by several replicas. */
    store: z
      .object({
        /** `postgres://…`: every store in that database (docs/scaling.md); unset: HERALD_HOME/herald.db. */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
          .optional(),
        /** Connections each replica keeps to PostgreSQL for store queries (turn locks have their own). */
        pool_size: positiveInt.default(10),
        /**
         * Seconds a replica's lease (and its chat platforms' leader leases) lasts without renewal before its
         * running responses count as interrupted and another replica takes its platforms over.
         */
        lease_s: positiveInt.min(3).default(30),
      })
      .strict()
      .default({ pool_size: 10, lease_s: 30 }),
    /** OpenTelemetry traces over OTLP/HTTP (docs/observability.md#traces); off by default. */
    tracing: z
      .object({
        enabled: z.boolean().default(false),
        /** The collector's OTLP/HTTP traces URL (JSON encoding). */
        endpoint: z.url({ protocol: /^https?$/ }).default(DEFAULT_TRACES_ENDPOINT),
        /** `service.name` of every span. */
        service_name: z.string().trim().min(1).default('herald'),
        /** Sent with every export (a vendor's API key); a secret. */
        headers: z.record(z.string(), z.string()).default({}),
        /** Share of new traces recorded (0–1); a caller's `traceparent` decides for its own trace. */
        sample_ratio: z.number().min(0).max(1).default(1),
      })
      .strict()
      .default({
        enabled: false,
        endpoint: DEFAULT_TRACES_ENDPOINT,
        service_name: 'herald',
        headers: {},
        sample_ratio: 1,
      }),
    logging: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** `pretty`: coloured human lines; `json`: one JSON object a line; `auto`: pretty on a terminal. */
        format: z.enum(['auto', 'pretty', 'json']).default('auto'),
      })
      .strict()
      .default({ level: 'info', format: 'auto' }),
  })
  .strict();

/** The validated config, plus where it lives. */
export type HeraldConfig = z.infer<typeof configSchema> & {
  /** Absolute path of HERALD_HOME. */
  home: string;
};

/** Dotted keys whose values are secrets: masked by `herald config show`, never logged. */
export const secretKeys = [
  'model.api_key',
  /** A database URL usually carries its password. */
  'store.url',
  'api_server.keys',
  'platforms.telegram.token',
  'platforms.telegram.webhook.secret',
  'platforms.discord.token',
  'platforms.slack.bot_token',
  'platforms.slack.app_token',
  'platforms.email.imap.password',
  'platforms.email.smtp.password',
  'platforms.dingtalk.client_secret',
  'platforms.matrix.access_token',
  'platforms.matrix.password',
  'platforms.mattermost.token',
  /** Operators pass tokens to tool commands here on purpose; still never printed. */
  'tools.terminal.env',
  /** `*` stands for any one name (each MCP server). */
  'mcp_servers.*.env',
  'mcp_servers.*.headers',
  'mcp_servers.*.bearer_token',
  /** Collector credentials (`Authorization`, a vendor's API key header). */
  'tracing.headers',
] as const;

/** Whether a dotted key is one of `secretKeys` (`*` matching any one name). */
export function isSecretKey(dotted: string): boolean {
  const parts = dotted.split('.');
  return secretKeys.some((secret) => {
    const pattern = secret.split('.');
    return pattern.length === parts.length && pattern.every((p, i) => p === '*' || p === parts[i]);
  });
}
