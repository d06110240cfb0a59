/**
 * Builds the API server's Fastify instance: JSON-only bodies with size and nesting limits, request and
 * header timeouts, request ids, CORS, the wrong-key throttle and auth / loopback guard, idempotency, one
 * log line (and, with tracing, one span) per request, one error mapper, and every route set
 * (health/models/capabilities, chat completions, the Responses API, the agent over MCP at `/mcp`, the
 * web chat's files at `/`). It does not listen; `ApiServer` owns the lifecycle. Tests may use it with
 * `app.inject` or `listen({ port: 0 })`.
 */
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import type { HeraldConfig } from '../../../config/schema.ts';
import { ModelError } from '../../../model/errors.ts';
import type { IdempotencyStore, ResponseStore, RunStore, TranscriptStore } from '../../../store/index.ts';
import { registerChatCompletionsRoutes } from './chat-completions.ts';
import { answerClientError } from './client-error.ts';
import { ApiError, shuttingDown, toApiError } from './errors.ts';
import { installIdempotency } from './idempotency.ts';
import { registerInfoRoutes } from './info-routes.ts';
import { installJsonBodyParser, jsonLimitsOf } from './json-body-parser.ts';
import { registerMcpRoute } from './mcp-route.ts';
import { registerPulseRoutes } from './pulse-routes.ts';
import { installRequestLog, noteErrorCode } from './request-log.ts';
import { installRequestTracing } from './request-tracing.ts';
import {
  createResponseTurns,
  registerResponsesRoutes,
  type SharedResponseTurns,
} from './responses-routes.ts';
import type { ApiRouteDeps } from './route-deps.ts';
import { registerRunsRoutes } from './runs-routes.ts';
import { type AccessCheck, createAccessCheck, installSecurity, isLoopbackOrigin } from './security.ts';
import { registerWebChatRoutes } from './web-chat-routes.ts';

export interface AppDeps extends ApiRouteDeps {
  responseStore: ResponseStore;
  transcripts: TranscriptStore;
  /** Shared with the WebSocket mode, so `/cancel` and `DELETE` reach its responses too. */
  responseTurns?: SharedResponseTurns;
  /** Shared with the WebSocket upgrade, so one wrong-key throttle counts both. */
  access?: AccessCheck;
  /** Where runs and their events are kept; without it the runs API is not served. */
  runStore?: RunStore;
  /** Idempotency-Key results in a store shared by replicas; in memory when absent. */
  idempotency?: IdempotencyStore | undefined;
}

/** Headers browsers may send cross-origin: auth, JSON, the official SDKs' own headers, Herald's. */
export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'X-Stainless-Arch',
  'X-Stainless-Lang',
  'X-Stainless-OS',
  'X-Stainless-Package-Version',
  'X-Stainless-Runtime',
  'X-Stainless-Runtime-Version',
  'X-Stainless-Retry-Count',
  'X-Stainless-Timeout',
  'X-Stainless-Helper-Method',
  'OpenAI-Organization',
  'OpenAI-Project',
  'Idempotency-Key',
  'X-Herald-Session-Id',
  'X-Requested-With',
  'X-Request-Id',
];

export const CORS_EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'x-herald-session-id'];

const clientRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildApp(deps: AppDeps): FastifyInstance {
  const apiConfig = deps.config.api_server;
  // Node refuses a headers timeout longer than the whole-request one; past either it answers 408.
  const bodyTimeoutMs = apiConfig.body_timeout_s * 1000;
  const headersTimeoutMs = Math.min(apiConfig.headers_timeout_s * 1000, bodyTimeoutMs);
  const timeouts = { headersS: headersTimeoutMs / 1000, bodyS: apiConfig.body_timeout_s };
  const app = Fastify({
    logger: false,
    bodyLimit: apiConfig.max_body_bytes,
    requestTimeout: bodyTimeoutMs,
    http: {
      requestTimeout: bodyTimeoutMs,
      headersTimeout: headersTimeoutMs,
      // Node checks the timeouts every 30 s by default, so a 20 s limit could take 50 s to bite.
      connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs / 2),
    },
    clientErrorHandler: (error, socket) => answerClientError(error, socket, timeouts),
    requestIdHeader: false,
    // Fastify's own 503 while closing is not OpenAI-shaped; the onRequest hook below answers instead.
    return503OnClosing: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && clientRequestId.test(given)
        ? given
        : `req_${randomUUID().replaceAll('-', '')}`;
    },
  });

  // Only JSON bodies: a text/plain or form POST is what a drive-by web page can send without a preflight.
  app.removeContentTypeParser('text/plain');
  installJsonBodyParser(app, jsonLimitsOf(apiConfig));

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Once close() has begun, a request still reaching us (pipelined, or on a busy keep-alive connection)
  // gets an OpenAI-shaped 503, and `connection: close` (set by Fastify) so the client reconnects elsewhere.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', async () => {
    if (closing) throw shuttingDown();
  });
  installRequestLog(app, deps.logger, deps.pulse);
  if (deps.tracing) installRequestTracing(app, deps.tracing);

  void app.register(cors, {
    origin: corsOrigin(apiConfig),
    methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
    strictPreflight: false,
  });
  // After CORS (plugins registered above run their onRequest hooks first), so preflights are answered.
  void app.after(() => {
    installSecurity(app, deps.access ?? createAccessCheck(apiConfig));
    installIdempotency(app, { shared: deps.idempotency && { store: deps.idempotency, logger: deps.logger } });
  });

  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    noteErrorCode(request, apiError.code);
    if (error instanceof ModelError) {
      // An upstream or configuration problem, already explained in its message: no stack needed.
      deps.logger.warn(
        { event: 'api.upstream_error', requestId: request.id, code: error.code, status: apiError.status },
        error.message,
      );
    } else if (apiError.code === 'storage_full') {
      deps.logger.error(
        { event: 'api.storage_full', requestId: request.id, home: deps.config.home, err: error },
        'the disk is full: free space where HERALD_HOME lives',
      );
    } else if (apiError.status >= 500) {
      deps.logger.error({ event: 'api.error', requestId: request.id, err: error }, 'request failed');
    }
    void reply.code(apiError.status).headers(apiError.headers).send(apiError.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const error = new ApiError(
      404,
      `Unknown request URL: ${request.method} ${path}. Please check the URL for typos; Herald serves /v1/chat/completions, /v1/responses, /v1/models and the same paths without /v1.`,
      { type: 'invalid_request_error', code: 'unknown_url' },
    );
    noteErrorCode(request, error.code);
    void reply.code(404).send(error.toBody());
  });

  const responseTurns = deps.responseTurns ?? createResponseTurns(deps);
  const { runStore } = deps;
  void app.register(async (scope) => {
    registerInfoRoutes(scope, deps, runStore !== undefined);
    registerPulseRoutes(scope, deps);
    registerChatCompletionsRoutes(scope, deps);
    registerResponsesRoutes(scope, deps, responseTurns);
    registerMcpRoute(scope, { ...deps, turns: responseTurns });
    if (runStore) registerRunsRoutes(scope, { ...deps, runStore }, responseTurns);
    if (apiConfig.web_chat) registerWebChatRoutes(scope);
  });
  return app;
}

/**
 * Which browser origins may read responses: `cors_origins` when set; `*` when a key guards the server;
 * without a key, loopback origins only — a frontend running on this machine (LobeChat, Open WebUI direct
 * connections) works, while the keyless Origin guard still refuses every other site.
 */
type OriginCheck = (
  origin: string | undefined,
  callback: (error: Error | null, allow: boolean) => void,
) => void;

function corsOrigin(apiConfig: HeraldConfig['api_server']): string | string[] | OriginCheck {
  if (apiConfig.cors_origins) return apiConfig.cors_origins.includes('*') ? '*' : apiConfig.cors_origins;
  if (apiConfig.keys.length > 0) return '*';
  return (origin, callback) => callback(null, origin !== undefined && isLoopbackOrigin(origin));
}
