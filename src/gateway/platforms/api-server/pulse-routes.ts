/**
 * The operator's routes: `GET /health/ready` (readiness, public like `/health`, which stays liveness),
 * `GET /status` (the status page, public: it holds no data), `GET /status.json` (the status report,
 * behind the API's access rules) and `GET /metrics` (Prometheus text; off or public per
 * `api_server.metrics`). What they report comes from the Pulse; which paths need a key is security.ts.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.ts';
import { API_PREFIXES, type ApiRouteDeps } from './route-deps.ts';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page.ts';

export function registerPulseRoutes(app: FastifyInstance, deps: ApiRouteDeps): void {
  for (const prefix of API_PREFIXES) {
    app.get(`${prefix}/health/ready`, async () => {
      const readiness = deps.pulse.readiness();
      if (!readiness.ready) {
        throw new ApiError(503, `Not ready: ${readiness.reason}`, {
          type: 'service_unavailable',
          code: 'not_ready',
        });
      }
      return { status: 'ready', version: deps.version };
    });
  }

  app.get('/status', async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', STATUS_PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(STATUS_PAGE_HTML),
  );

  app.get('/status.json', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(deps.pulse.status()),
  );

  if (deps.config.api_server.metrics.enabled) {
    app.get('/metrics', async (_request, reply) =>
      reply.header('content-type', deps.pulse.metrics.contentType).send(await deps.pulse.metrics.render()),
    );
  }
}
