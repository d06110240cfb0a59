/**
 * The history of config.yaml's format: one entry per `config_version`, saying which keys it introduced
 * (the setup wizard asks about those on an upgraded config; docs/configuration.md shows them), how a
 * file of the previous version becomes this one, and which env vars it renamed. Adding a version is
 * adding one entry here and raising CONFIG_VERSION in schema.ts (a test checks they agree). Applying the
 * steps to a file is migrate-config.ts's job, not this module's.
 */
import { type Document, isMap } from 'yaml';

export interface EnvRename {
  from: string;
  to: string;
}

export interface ConfigVersionEntry {
  version: number;
  /**
   * Dotted keys this version added or changed the meaning of. A key of a nested section covers the
   * whole section; keys listed by no entry date from version 1.
   */
  introduced: readonly string[];
  /** Edits a document of version `version - 1` in place into this version; returns notes for the user. */
  migrate?: (document: Document) => string[];
  /** Env vars renamed in this version: the old name still works, with a warning naming the new one. */
  envRenames?: readonly EnvRename[];
}

export const configVersions: readonly ConfigVersionEntry[] = [
  // Version 1: config.yaml as Herald wrote it before files carried a version.
  { version: 1, introduced: [] },
  {
    version: 2,
    introduced: [
      'config_version',
      'model.context_window',
      'model.mid_conversation_system',
      'model.supports_images',
      'tools.run_as',
      'tools.terminal.env',
      'api_server.keys',
      'api_server.max_queued_runs',
      'api_server.queue_timeout_s',
      'api_server.headers_timeout_s',
      'api_server.body_timeout_s',
      'api_server.max_json_depth',
      'api_server.max_json_array_items',
      'api_server.max_json_string_chars',
      'api_server.auth_failures',
      'api_server.responses.websocket_max_connection_s',
      'api_server.tool_progress',
      'api_server.utility_requests',
      'api_server.utility_model',
      'api_server.stream_errors',
      'api_server.ready_requires_upstream',
      'api_server.metrics',
      'api_server.web_chat',
      'logging.format',
      'store',
      'tracing',
      'mcp_servers',
      'approvals',
      'platforms.telegram.admins',
      'platforms.telegram.dm_policy',
      'platforms.discord.admins',
      'platforms.discord.dm_policy',
      'platforms.slack.admins',
      'platforms.slack.dm_policy',
      'platforms.whatsapp.allowed_users',
      'platforms.whatsapp.admins',
      'platforms.whatsapp.dm_policy',
      'platforms.whatsapp.self_chat',
      'platforms.whatsapp.reply_prefix',
      'platforms.whatsapp.streaming',
      'gateway.shutdown_grace_s',
      'streaming.group_edit_interval_ms',
      'platforms.telegram.streaming.group_edit_interval_ms',
      'platforms.discord.streaming.group_edit_interval_ms',
      'platforms.slack.streaming.group_edit_interval_ms',
      'platforms.email',
      'platforms.dingtalk',
      'platforms.matrix',
      'platforms.mattermost',
    ],
    migrate: (document) => {
      // Herald's own tool use is always hosted mcp_call items now; the old switch only drew a warning.
      const path = ['api_server', 'responses', 'tool_items'];
      if (!document.hasIn(path)) return [];
      const value = String(document.getIn(path));
      document.deleteIn(path);
      const responses = document.getIn(path.slice(0, -1), true);
      if (isMap(responses)) {
        // Left where the user will look, so the removed line is not a silent surprise.
        responses.comment = ` tool_items: ${value}  (removed by the upgrade to config_version 2: tool use is always mcp_call items)`;
      }
      return ['removed api_server.responses.tool_items (ignored: tool use is always mcp_call items)'];
    },
  },
];

/** The version that introduced `key` (dotted): the entry naming it or an enclosing section, else 1. */
export function introducedIn(key: string, versions: readonly ConfigVersionEntry[] = configVersions): number {
  for (const entry of [...versions].reverse()) {
    if (entry.introduced.some((k) => key === k || key.startsWith(`${k}.`))) return entry.version;
  }
  return 1;
}

/** Every env rename of every version, oldest first. */
export function envRenames(versions: readonly ConfigVersionEntry[] = configVersions): EnvRename[] {
  return versions.flatMap((entry) => entry.envRenames ?? []);
}
