/**
 * The server span of one HTTP request (`POST /v1/chat/completions`): method, path, route, status,
 * request id and the error code it was answered with. It continues the caller's trace when the request
 * carries W3C `traceparent`/`tracestate` headers, and makes its context current for the route's handler
 * so the agent run nests under it. No other header, no query string and no body is recorded.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import { HERALD } from './span-attributes.ts';
import type { RequestOutcome, RequestSpan, TracedRequest } from './tracing.ts';

export function startRequestSpan(tracer: Tracer, request: TracedRequest): RequestSpan {
  const parent = propagation.extract(ROOT_CONTEXT, request.headers);
  const span = tracer.startSpan(
    request.method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: request.method,
        [ATTR_URL_PATH]: request.path,
        [HERALD.requestId]: request.requestId,
      },
    },
    parent,
  );
  const current = trace.setSpan(parent, span);
  return {
    within: (fn) => context.with(current, fn),
    end: ({ route, status, errorCode }: RequestOutcome) => {
      if (route) {
        span.updateName(`${request.method} ${route}`);
        span.setAttribute(ATTR_HTTP_ROUTE, route);
      }
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (errorCode) span.setAttribute(HERALD.errorCode, errorCode);
      // A 4xx is the caller's mistake, not the server's; a stream that failed after its 200 is a failure.
      if (status >= 500 || (status < 400 && errorCode)) {
        const type = errorCode ?? String(status);
        span.setAttribute(ATTR_ERROR_TYPE, type);
        span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      }
      span.end();
    },
  };
}
