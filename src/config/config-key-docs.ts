/**
 * One sentence per config key saying what it does, plus example values for keys that have no default.
 * The first-run config.yaml is generated from these so the commented file always matches schema.ts;
 * docs/configuration.md is written by hand from the same text.
 */

export const sectionDocs: Readonly<Record<string, string>> = {
  model: 'The upstream OpenAI-compatible model (OpenRouter, OpenAI, Ollama, llama.cpp, vLLM, LM Studio…).',
  agent: 'The agent loop.',
  tools: 'Limits of the built-in tools and who their commands run as.',
  approvals:
    'Which tool calls wait for a person (docs/approvals.md): per tool allow/ask/deny, and the built-in classifier of dangerous commands.',
  toolsets:
    'Named groups of tool names. `api`, `chat` and `cli` are the default toolsets of the API server, chat platforms and `herald chat`; `mcp:<server>` names every tool of an MCP server, `<server>__<tool>` one.',
  mcp_servers:
    'MCP tool servers (docs/mcp.md): a local `command` over stdio or a remote `url`; their tools join the default toolsets as <server>__<tool>.',
  profiles: 'Agent profiles the API server offers as models (GET /v1/models); `herald` always exists.',
  api_server: 'The OpenAI-compatible HTTP API (docs/api-server.md).',
  gateway: 'Conversations on chat platforms.',
  streaming:
    'Live message edits on chat platforms (docs/streaming.md); each platform may override these under `platforms.<name>.streaming`.',
  platforms: 'Chat platforms; a platform starts when its token is set or `enabled: true`.',
  store:
    'Where state lives (docs/scaling.md): SQLite in HERALD_HOME by default, or one PostgreSQL database shared by several replicas.',
  logging: 'Structured logs (pino) on stderr (docs/observability.md).',
  tracing:
    'OpenTelemetry traces over OTLP/HTTP (docs/observability.md#traces): a span per request, agent run, model call and tool call; never message text.',
};

export const keyDocs: Readonly<Record<string, string>> = {
  config_version:
    'Format version of this file. Herald upgrades older files at start (backup: config.yaml.bak-v<N>); do not edit.',
  'model.base_url':
    'OpenAI-compatible base URL, e.g. https://openrouter.ai/api/v1 or http://localhost:11434/v1.',
  'model.api_key': 'API key of the upstream (better kept in HERALD_HOME/.env).',
  'model.model': 'Upstream model id, e.g. anthropic/claude-sonnet-4 or llama3.1.',
  'model.timeout_s': 'Seconds before an upstream request is abandoned.',
  'model.max_retries': 'Retries on 429/5xx/connection errors before anything has streamed.',
  'model.max_tokens': 'Output token cap sent upstream when the caller gives none.',
  'model.context_window':
    "The model's context window in tokens; conversations are compacted past 80% of it. Default: what the upstream reports, else 128000.",
  'model.supports_images':
    'The model accepts images: images that tools (MCP servers) return are shown to it after the tool round; otherwise they are only described in text.',
  'model.mid_conversation_system':
    'A system message after the first user turn goes upstream in place as system, or as a user message (user) for upstreams that reject late system messages.',
  'agent.max_iterations': 'Model calls per run before the agent stops with a final message.',
  'agent.workspace':
    'Working directory of the tools; relative paths are under HERALD_HOME. Default HERALD_HOME/workspace.',
  'agent.system_prompt': 'Extra text appended to the core system prompt of every run.',
  'tools.terminal.timeout_s': 'Seconds before a shell command is killed.',
  'tools.terminal.max_output_chars': 'Characters of command output kept (the rest is cut with a note).',
  'tools.terminal.env':
    'Variables passed to tool commands on purpose, beyond the allow-list (PATH, HOME, LANG, LC_*, TERM, TZ, TMPDIR, USER, LOGNAME, SHELL).',
  'tools.run_as':
    "User tool commands run as: auto (nobody when Herald is root, else Herald's own user), off, a user name, a uid or uid:gid.",
  'tools.files.max_read_bytes': 'Largest file read_file will read.',
  'tools.files.max_read_lines': 'Lines returned by one read_file call.',
  'tools.files.max_search_results': 'Matches returned by one search_files call.',
  'tools.web_fetch.timeout_s': 'Seconds before a web_fetch request is abandoned.',
  'tools.web_fetch.max_bytes': 'Largest response body web_fetch downloads.',
  'tools.web_fetch.max_chars': 'Characters of page text returned.',
  'tools.web_fetch.allow_private':
    'Allow fetching loopback, private and link-local addresses (off: SSRF guard).',
  'api_server.enabled': 'Serve the HTTP API with `herald serve`.',
  'api_server.host': 'Address to bind. Beyond loopback a key is required unless allow_unauthenticated.',
  'api_server.port': 'TCP port.',
  'api_server.keys':
    'Bearer keys clients must send: strings, or {name, key, profiles} (the name owns the data and shows in logs; profiles limits the models); empty = no auth (loopback only).',
  'api_server.cors_origins': 'Allowed browser origins; default * with a key, loopback origins without one.',
  'api_server.allow_unauthenticated': 'Allow binding beyond loopback without a key (warns at every start).',
  'api_server.max_body_bytes': 'Largest request body accepted.',
  'api_server.max_concurrent_runs':
    'Agent runs at once across all clients; past it requests wait in the run queue.',
  'api_server.max_queued_runs':
    'Requests waiting for a run slot; past it requests get 429 at once (0 = no queue).',
  'api_server.queue_timeout_s': 'Seconds a queued request waits for a run slot before it gets 429.',
  'api_server.headers_timeout_s': 'Seconds a client has to send its request headers (408 past it).',
  'api_server.body_timeout_s': 'Seconds a client has to send its whole request, body included (408 past it).',
  'api_server.max_json_depth':
    'Deepest nesting of JSON arrays/objects in a body (400 json_too_deep past it).',
  'api_server.max_json_array_items': 'Longest JSON array in a body (400 json_array_too_long past it).',
  'api_server.max_json_string_chars': 'Longest JSON string in a body (400 json_string_too_long past it).',
  'api_server.auth_failures.max':
    'Wrong keys one client address may send within window_s; then 429 with Retry-After (0 = off).',
  'api_server.auth_failures.window_s': 'Sliding window, in seconds, over which wrong keys are counted.',
  'api_server.auth_failures.exempt_loopback':
    'Never throttle loopback clients (e.g. a reverse proxy on this machine that throttles itself).',
  'api_server.shutdown_grace_s': 'Seconds running streams may finish after SIGTERM/SIGINT.',
  'api_server.tool_progress':
    'Tool activity in Chat Completions: reasoning (thinking panel), events, inline or off.',
  'api_server.strict_models': 'Reject unknown model names instead of serving them with the default profile.',
  'api_server.ready_requires_upstream':
    "GET /health/ready answers 503 while the upstream model's last call failed (for 60 s after it), not only when the store is closed.",
  'api_server.metrics.enabled': 'Serve GET /metrics (Prometheus text format; docs/observability.md).',
  'api_server.metrics.require_key':
    'GET /metrics needs the API key like the API; false lets a scraper in without one (keyed servers only).',
  'api_server.web_chat':
    'Serve the web chat at / (docs/web.md); its files are public, everything it does goes through the API with the key.',
  'api_server.heartbeat_s': 'Seconds between SSE comment heartbeats while tools run.',
  'api_server.utility_requests':
    "Frontends' background requests (titles, tags, follow-ups, summaries): auto = sent to the model as is, without tools or agent prompt, not stored; agent = run as agent turns.",
  'api_server.utility_model':
    "Upstream model for utility requests (e.g. a cheaper one). Default: the profile's model.",
  'api_server.stream_errors':
    'How a chat stream that fails after opening ends: content_and_error = a visible "⚠️ Error" text delta, then the error frame; error = the frame only.',
  'api_server.responses.max_stored': 'Stored responses kept (oldest deleted first).',
  'api_server.responses.max_age_days': 'Days a stored response is kept.',
  'api_server.responses.tool_items':
    "Deprecated and ignored (a warning at startup): the agent's own tool use always appears as hosted mcp_call items.",
  'api_server.responses.websocket_max_connection_s':
    'Seconds a Responses WebSocket-mode connection may stay open; then it gets websocket_connection_limit_reached and closes.',
  'gateway.interrupt_on_new_message': 'A new message aborts the running reply instead of queueing.',
  'gateway.history_max_messages':
    'Hard bound on the messages after the latest summary sent upstream; long conversations are compacted before it matters.',
  'gateway.shutdown_grace_s':
    'Seconds running chat replies may finish on shutdown; then they are aborted, partial text kept.',
  'streaming.enabled': 'Stream replies as growing message edits (false: send the finished reply).',
  'streaming.first_chunk_chars': 'Characters before the first message is sent.',
  'streaming.edit_interval_ms':
    'Milliseconds between edits (default per platform: Telegram 1000, Discord 1200, Slack 1000, WhatsApp 3000, Matrix 2000, Mattermost 1000).',
  'streaming.group_edit_interval_ms':
    'Milliseconds between edits in group chats (default per platform: Telegram and WhatsApp 3000, others as in private chats).',
  'streaming.tool_progress': 'Show a status line while a tool runs.',
  'platforms.telegram.enabled': 'Start Telegram (default: when a token is set).',
  'platforms.telegram.token': 'Bot token from @BotFather.',
  'platforms.telegram.allowed_users': 'Telegram user ids allowed to talk to the bot.',
  'platforms.telegram.admins':
    'Telegram user ids who may answer any approval request (besides the person who asked).',
  'platforms.telegram.dm_policy':
    'Strangers: allowlist (refused), pairing (a code to approve with `herald pairing approve`), open (anyone). Default allowlist.',
  'platforms.telegram.reply_to_mode': 'Thread replies to the user message: off, first or all chunks.',
  'platforms.telegram.api_root': 'Self-hosted Bot API server URL.',
  'platforms.telegram.native_drafts': 'Use sendMessageDraft in private chats (Bot API 9.5+).',
  'platforms.telegram.webhook': 'Webhook mode instead of long polling: url, port (8443), secret.',
  'platforms.telegram.streaming': 'Overrides of `streaming:` for Telegram.',
  'platforms.discord.enabled': 'Start Discord (default: when a token is set).',
  'platforms.discord.token': 'Bot token from the Discord developer portal.',
  'platforms.discord.allowed_users': 'Discord user ids allowed to talk to the bot.',
  'platforms.discord.admins': 'Discord user ids who may answer any approval request.',
  'platforms.discord.dm_policy': 'Strangers: allowlist (default), pairing or open.',
  'platforms.discord.streaming': 'Overrides of `streaming:` for Discord.',
  'platforms.slack.enabled': 'Start Slack (default: when both tokens are set).',
  'platforms.slack.bot_token': 'Bot token (xoxb-…).',
  'platforms.slack.app_token': 'App-level token for Socket Mode (xapp-…).',
  'platforms.slack.allowed_users': 'Slack user ids allowed to talk to the bot.',
  'platforms.slack.admins': 'Slack user ids who may answer any approval request.',
  'platforms.slack.dm_policy': 'Strangers: allowlist (default), pairing or open.',
  'platforms.slack.native_streaming': 'Use chat.startStream/appendStream/stopStream.',
  'platforms.slack.streaming': 'Overrides of `streaming:` for Slack.',
  'platforms.whatsapp.enabled': 'Start WhatsApp (default: when `herald whatsapp link` linked a device).',
  'platforms.whatsapp.allowed_users': 'Phone numbers (with country code) allowed to talk to the agent.',
  'platforms.whatsapp.admins':
    'Phone numbers who may answer any approval request and get pairing requests to answer.',
  'platforms.whatsapp.dm_policy': 'Strangers: allowlist (default), pairing or open.',
  'platforms.whatsapp.self_chat': 'Talk to the agent by messaging yourself ("Message yourself" chat).',
  'platforms.whatsapp.reply_prefix':
    "Header before every reply; unset = '⚕ *Herald*' and a newline, '' = none, \\n = newline.",
  'platforms.whatsapp.streaming': 'Overrides of `streaming:` for WhatsApp.',
  'approvals.timeout_s': 'Seconds an approval request waits for an answer; unanswered counts as deny.',
  'approvals.dangerous':
    'What calls the classifier flags (rm -r, sudo, curl | sh, kill, writes to system paths…) get: ask (where a person can answer; refused elsewhere), deny or allow.',
  'approvals.tools':
    'Per tool name or glob (`github__*`): allow (default; the classifier may still ask), ask (every call) or deny.',
  'approvals.toolsets': 'Per toolset (and so per profile): `{ dangerous, tools }` overriding the two above.',
  'platforms.email.enabled': 'Start email (default: when IMAP host/user and SMTP host are set).',
  'platforms.email.address': "The bot's address: From of replies; mail from it is never answered.",
  'platforms.email.imap.host': 'IMAP server for incoming mail (IDLE).',
  'platforms.email.imap.port': 'IMAP port (993 with TLS; 143 plain + STARTTLS).',
  'platforms.email.imap.user': 'IMAP login.',
  'platforms.email.imap.password': 'IMAP password.',
  'platforms.email.imap.tls': 'Implicit TLS (false: plain, upgraded by STARTTLS when offered).',
  'platforms.email.smtp.host': 'SMTP server for replies.',
  'platforms.email.smtp.port': 'SMTP port (465 with TLS; 587 plain + STARTTLS).',
  'platforms.email.smtp.user': 'SMTP login.',
  'platforms.email.smtp.password': 'SMTP password.',
  'platforms.email.smtp.tls': 'Implicit TLS (false: plain, upgraded by STARTTLS when offered).',
  'platforms.email.allowed_senders': 'Sender addresses or @domains whose mail is answered.',
  'platforms.email.mailbox': 'Mailbox watched for new mail.',
  'platforms.dingtalk.enabled': 'Start DingTalk (default: when client id and secret are set).',
  'platforms.dingtalk.client_id': 'App key (Client ID) of the DingTalk app with a Stream-mode robot.',
  'platforms.dingtalk.client_secret': 'App secret (Client Secret).',
  'platforms.dingtalk.allowed_users': 'DingTalk staff ids allowed to talk to the bot.',
  'platforms.dingtalk.admins': 'DingTalk staff ids who may answer any approval request (numbered reply).',
  'platforms.dingtalk.dm_policy': 'Strangers: allowlist (default), pairing or open.',
  'platforms.dingtalk.card_template_id':
    'AI card template id: replies stream into an AI card (unset: one Markdown message at the end).',
  'platforms.dingtalk.card_content_key': "The AI card template's streaming Markdown variable.",
  'platforms.dingtalk.api_root': "DingTalk's OpenAPI root (Stream gateway, tokens, cards).",
  'platforms.dingtalk.streaming': 'Overrides of `streaming:` for DingTalk (AI cards only).',
  'store.url':
    'postgres://user:password@host:5432/db — keep every store there (env HERALD_DATABASE_URL); unset: SQLite in HERALD_HOME.',
  'store.pool_size': 'PostgreSQL connections per replica for store queries (turn locks take their own).',
  'store.lease_s':
    'Seconds a replica counts as alive after its last heartbeat; then its running responses are marked interrupted and another replica takes over its chat platforms.',
  'platforms.matrix.enabled': 'Start Matrix (default: when a homeserver and credentials are set).',
  'platforms.matrix.homeserver': 'Homeserver client-server API URL.',
  'platforms.matrix.access_token': "The bot account's access token.",
  'platforms.matrix.user_id': 'Bot user id for password login (`@herald:example.org`).',
  'platforms.matrix.password': 'Bot password (logs in at each start; a token is preferred).',
  'platforms.matrix.allowed_users': 'Matrix user ids allowed to talk to the bot and invite it.',
  'platforms.matrix.admins':
    'Matrix user ids who may answer any approval request and get pairing requests (in a direct chat with the bot).',
  'platforms.matrix.dm_policy': 'Strangers: allowlist (default), pairing or open.',
  'platforms.matrix.auto_join': 'Join rooms allowed users invite the bot to; decline other invites.',
  'platforms.matrix.streaming': 'Overrides of `streaming:` for Matrix.',
  'platforms.mattermost.enabled': 'Start Mattermost (default: when URL and token are set).',
  'platforms.mattermost.url': 'Mattermost server URL.',
  'platforms.mattermost.token': 'Bot account access token.',
  'platforms.mattermost.allowed_users': 'Mattermost user ids (26 characters) allowed to talk to the bot.',
  'platforms.mattermost.admins':
    'Mattermost user ids who may answer any approval request and get pairing requests.',
  'platforms.mattermost.dm_policy': 'Strangers: allowlist (default), pairing or open.',
  'platforms.mattermost.streaming': 'Overrides of `streaming:` for Mattermost.',
  'logging.level': 'fatal, error, warn, info, debug, trace or silent.',
  'logging.format':
    'auto (coloured human-readable lines when stderr is a terminal, JSON lines otherwise), pretty or json.',
  'tracing.enabled': 'Export traces; off: the OpenTelemetry SDK is not even loaded.',
  'tracing.endpoint': "The collector's OTLP/HTTP traces URL (JSON encoding).",
  'tracing.service_name': 'service.name of every span.',
  'tracing.headers': "HTTP headers sent with every export, e.g. a vendor's API key (a secret).",
  'tracing.sample_ratio':
    "Share of new traces recorded, 0 to 1; a caller's traceparent decides for its own trace.",
};

/** Example YAML values (as text) for keys without a default, shown commented in config.yaml. */
export const keyExamples: Readonly<Record<string, string>> = {
  'model.base_url': 'https://openrouter.ai/api/v1',
  'model.api_key': 'sk-…',
  'model.model': 'anthropic/claude-sonnet-4',
  'model.max_tokens': '8192',
  'model.context_window': '200000',
  'api_server.utility_model': 'openai/gpt-4o-mini',
  'agent.workspace': 'workspace',
  'agent.system_prompt': 'Answer briefly.',
  'tools.terminal.env': '{ GIT_AUTHOR_NAME: Herald, HTTPS_PROXY: "http://proxy:3128" }',
  'api_server.cors_origins': '["https://chat.example.com"]',
  'streaming.edit_interval_ms': '1000',
  'streaming.group_edit_interval_ms': '3000',
  'platforms.telegram.enabled': 'true',
  'platforms.telegram.admins': '[123456789]',
  'platforms.telegram.dm_policy': 'pairing',
  'platforms.discord.admins': '["123456789012345678"]',
  'platforms.discord.dm_policy': 'pairing',
  'platforms.slack.admins': '[U012ABCDEF]',
  'platforms.slack.dm_policy': 'pairing',
  'platforms.telegram.token': '123456:ABC…',
  'platforms.telegram.api_root': 'http://localhost:8081',
  'platforms.telegram.webhook': '{ url: "https://bot.example.com/telegram", port: 8443 }',
  'platforms.telegram.streaming': '{ edit_interval_ms: 1500 }',
  'platforms.discord.enabled': 'true',
  'platforms.discord.token': 'MTA…',
  'platforms.discord.streaming': '{ edit_interval_ms: 1500 }',
  'platforms.slack.enabled': 'true',
  'platforms.slack.bot_token': 'xoxb-…',
  'platforms.slack.app_token': 'xapp-…',
  'platforms.slack.streaming': '{ enabled: false }',
  'platforms.matrix.enabled': 'true',
  'platforms.matrix.homeserver': 'https://matrix.example.org',
  'platforms.matrix.access_token': 'syt_…',
  'platforms.matrix.user_id': '"@herald:example.org"',
  'platforms.matrix.password': '…',
  'platforms.matrix.streaming': '{ edit_interval_ms: 3000 }',
  'platforms.matrix.admins': '["@alice:example.org"]',
  'platforms.matrix.dm_policy': 'pairing',
  'platforms.mattermost.admins': '[aliceuserid000000000000000]',
  'platforms.mattermost.dm_policy': 'pairing',
  'platforms.dingtalk.admins': '[manager4220]',
  'platforms.dingtalk.dm_policy': 'pairing',
  'platforms.mattermost.enabled': 'true',
  'platforms.mattermost.url': 'https://chat.example.org',
  'platforms.mattermost.token': 'xbq…',
  'platforms.mattermost.streaming': '{ edit_interval_ms: 1500 }',
  'platforms.whatsapp.enabled': 'true',
  'platforms.whatsapp.admins': '["+49 151 23456789"]',
  'platforms.whatsapp.dm_policy': 'pairing',
  'platforms.whatsapp.reply_prefix': '"🤖 *Assistant*\\n"',
  'platforms.whatsapp.streaming': '{ edit_interval_ms: 5000 }',
  'platforms.email.enabled': 'true',
  'platforms.email.address': 'herald@example.com',
  'platforms.email.imap.host': 'imap.example.com',
  'platforms.email.imap.user': 'herald@example.com',
  'platforms.email.imap.password': '…',
  'platforms.email.smtp.host': 'smtp.example.com',
  'platforms.email.smtp.user': 'herald@example.com',
  'platforms.email.smtp.password': '…',
  'platforms.dingtalk.enabled': 'true',
  'platforms.dingtalk.client_id': 'dingxxxxxxxx',
  'platforms.dingtalk.client_secret': '…',
  'platforms.dingtalk.card_template_id': '382e4302-551d-4880-bf29-a30acfab2e71.schema',
  'store.url': 'postgres://herald:secret@db.internal:5432/herald',
};

/** Example entries of the name → value sections, shown commented in config.yaml. */
export const recordExamples: Readonly<Record<string, readonly string[]>> = {
  toolsets: ['cli: [terminal, read_file, write_file, edit_file, search_files, web_fetch]'],
  mcp_servers: [
    'filesystem: { command: npx, args: [-y, "@modelcontextprotocol/server-filesystem", /srv/docs] }',
    'github: { url: "https://api.githubcopilot.com/mcp/", bearer_token: "ghp_…", timeout_s: 60 }',
  ],
  profiles: ['coder: { model: qwen/qwen3-coder, toolset: cli, system_prompt: "You write code." }'],
};
