/**
 * The read-only routes: `GET /health` (no auth: status, version, runs running and queued), `GET /v1/models` and
 * `GET /v1/models/:id` (the agent profiles, in OpenAI's Model shape) and `GET /v1/capabilities` (what
 * this server supports, for UIs that adapt to it). Each answers with and without the `/v1` prefix.
 */
import type { FastifyInstance } from 'fastify';
import { callerOf } from './api-caller.ts';
import { DEFAULT_PROFILE_ID, modelNotFound } from './profiles.ts';
import { API_PREFIXES, type ApiRouteDeps } from './route-deps.ts';

/** Models are config, not objects with a history: a fixed creation time keeps the list stable. */
const MODELS_CREATED = 1_767_225_600; // 2026-01-01T00:00:00Z

/** `runs`: whether the runs API is served (it needs a run store). */
export function registerInfoRoutes(app: FastifyInstance, deps: ApiRouteDeps, runs = false): void {
  const toModel = (id: string) => ({
    id,
    object: 'model' as const,
    created: MODELS_CREATED,
    owned_by: 'herald',
  });

  for (const prefix of API_PREFIXES) {
    app.get(`${prefix}/health`, async () => ({
      status: 'ok',
      version: deps.version,
      runs: { running: deps.limiter.active, queued: deps.limiter.queued },
    }));

    // A key limited to some profiles sees only those.
    app.get(`${prefix}/models`, async (request) => {
      const allowed = callerOf(request).profiles;
      const profiles = deps.profiles.list().filter((p) => !allowed || allowed.includes(p.id));
      return { object: 'list', data: profiles.map((p) => toModel(p.id)) };
    });

    app.get<{ Params: { id: string } }>(`${prefix}/models/*`, async (request) => {
      // A wildcard, because profile ids may contain `/` (`team/coder`).
      const id = decodeURIComponent((request.params as Record<string, string>)['*'] ?? '');
      const allowed = callerOf(request).profiles;
      if (!deps.profiles.get(id) || (allowed && !allowed.includes(id))) throw modelNotFound(id);
      return toModel(id);
    });

    app.get(`${prefix}/capabilities`, async () => capabilities(deps, runs));
  }
}

const runEndpoints = [
  { method: 'POST', path: '/v1/runs' },
  { method: 'GET', path: '/v1/runs/{id}' },
  { method: 'GET', path: '/v1/runs/{id}/events' },
  { method: 'POST', path: '/v1/runs/{id}/approval' },
  { method: 'POST', path: '/v1/runs/{id}/stop' },
  { method: 'POST', path: '/v1/runs/{id}/steer' },
];

function capabilities(deps: ApiRouteDeps, runs: boolean) {
  const api = deps.config.api_server;
  return {
    object: 'capabilities',
    server: 'herald',
    version: deps.version,
    auth: { required: api.keys.length > 0, scheme: 'bearer' },
    models: deps.profiles.list().map((p) => p.id),
    default_model: DEFAULT_PROFILE_ID,
    strict_models: api.strict_models,
    endpoints: [
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/health/ready' },
      { method: 'GET', path: '/status' },
      { method: 'GET', path: '/status.json' },
      ...(api.metrics.enabled ? [{ method: 'GET', path: '/metrics' }] : []),
      { method: 'GET', path: '/v1/models' },
      { method: 'GET', path: '/v1/models/{id}' },
      { method: 'GET', path: '/v1/capabilities' },
      { method: 'POST', path: '/v1/chat/completions' },
      { method: 'POST', path: '/v1/responses' },
      { method: 'GET', path: '/v1/responses/{id}' },
      { method: 'DELETE', path: '/v1/responses/{id}' },
      { method: 'GET', path: '/v1/responses/{id}/input_items' },
      { method: 'POST', path: '/v1/responses/{id}/cancel' },
      { method: 'POST', path: '/v1/responses/compact' },
      { method: 'POST', path: '/v1/conversations' },
      { method: 'GET', path: '/v1/conversations/{id}' },
      { method: 'POST', path: '/v1/conversations/{id}' },
      { method: 'DELETE', path: '/v1/conversations/{id}' },
      { method: 'GET', path: '/v1/conversations/{id}/items' },
      { method: 'POST', path: '/v1/conversations/{id}/items' },
      { method: 'GET', path: '/v1/conversations/{id}/items/{item_id}' },
      { method: 'DELETE', path: '/v1/conversations/{id}/items/{item_id}' },
      ...(runs ? runEndpoints : []),
    ],
    unprefixed_aliases: true,
    features: {
      streaming: true,
      stream_usage: true,
      tool_progress: {
        mode: api.tool_progress,
        modes: ['events', 'inline', 'off'],
        event: 'herald.tool.progress',
      },
      responses: true,
      // Open Responses' WebSocket transport: `response.create` messages on an upgraded `/v1/responses`.
      responses_websocket: {
        path: '/v1/responses',
        client_events: ['response.create'],
        max_message_bytes: api.max_body_bytes,
        max_connection_s: api.responses.websocket_max_connection_s,
      },
      conversations: true,
      image_input: true,
      file_input: false,
      // The client's own function tools: offered to the model, calls handed back as OpenAI does.
      client_tools: {
        types: ['function'],
        tool_choice: ['none', 'auto', 'required', 'function'],
        parallel_tool_calls: true,
      },
      // The agent's own tools run here: `mcp_call` items on Responses, progress events on chat.
      hosted_tools: {
        responses_item: 'mcp_call',
        server_label: 'herald',
        chat_completions_event: 'herald.tool.progress',
      },
      // Background runs whose tool calls a person can approve; elsewhere such calls are refused.
      runs: runs
        ? {
            events: [
              'run.started',
              'message.delta',
              'tool.started',
              'tool.completed',
              'approval.requested',
              'approval.resolved',
              'run.completed',
              'run.failed',
              'run.cancelled',
              'run.interrupted',
            ],
            approval_decisions: ['once', 'session', 'always', 'deny'],
            approval_timeout_s: deps.config.approvals.timeout_s,
            resume: ['Last-Event-ID', 'after'],
          }
        : false,
      approvals: { dangerous: deps.config.approvals.dangerous, without_asker: 'deny' },
      sessions: { header: 'X-Herald-Session-Id' },
      idempotency: { header: 'Idempotency-Key', streaming: false },
      heartbeat_s: api.heartbeat_s,
      max_body_bytes: api.max_body_bytes,
      max_concurrent_runs: api.max_concurrent_runs,
      max_queued_runs: api.max_queued_runs,
    },
  };
}
