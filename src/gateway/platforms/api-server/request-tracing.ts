/**
 * One OpenTelemetry server span per HTTP request (observability/request-span.ts), opened when the
 * request arrives and ended when its response closes, so a streamed reply's span lasts until the stream
 * ends. Every route's handler runs inside the span's context, which is how the agent run it starts nests
 * under it; the span is current for the handler only, since Node's body parsing runs outside the hooks'
 * async context. It records no header, body or key (see request-span.ts for what it does record).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { RequestSpan, Tracing } from '../../../observability/index.ts';
import { answeredErrorCode } from './request-log.ts';

export function installRequestTracing(app: FastifyInstance, tracing: Tracing): void {
  const spans = new WeakMap<FastifyRequest, RequestSpan>();
  app.addHook('onRequest', async (request, reply) => {
    const span = tracing.startRequest({
      method: request.method,
      path: request.url.split('?', 1)[0] ?? request.url,
      requestId: request.id,
      headers: request.headers,
    });
    spans.set(request, span);
    reply.raw.once('close', () =>
      span.end({
        route: request.routeOptions.url,
        status: reply.raw.statusCode,
        errorCode: answeredErrorCode(request),
      }),
    );
  });
  // Added before the routes are registered, so it sees (and wraps) every one of them.
  app.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const span = spans.get(request);
      return span
        ? span.within(() => handler.call(this, request, reply))
        : handler.call(this, request, reply);
    };
  });
}
