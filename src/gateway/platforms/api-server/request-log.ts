/**
 * One structured log line per HTTP request (`api.request`): request id, method, route, status,
 * duration, the API key's configured name (never the key), the error code it was answered with,
 * for agent routes token counts, and for a frontend's background request served lightly `utility: true`
 * with the rule that matched; the same facts go to the Pulse (request metrics, recent errors). It hooks
 * the raw response's close so streamed (hijacked) replies are logged like ordinary ones. Never logs
 * keys, headers or message content.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../../../logger.ts';
import type { Usage } from '../../../model/types.ts';
import type { Pulse } from '../../../observability/index.ts';
import { callerOf } from './api-caller.ts';

const usageByRequest = new WeakMap<FastifyRequest, Usage>();
const utilityRuleByRequest = new WeakMap<FastifyRequest, string>();
const errorCodeByRequest = new WeakMap<FastifyRequest, string>();

/** Records the run's summed usage so the request's log line carries token counts. */
export function noteUsage(request: FastifyRequest, usage: Usage): void {
  usageByRequest.set(request, usage);
}

/** Marks the request as a utility request (utility-requests.ts) served without the agent's prompt and tools. */
export function noteUtility(request: FastifyRequest, rule: string): void {
  utilityRuleByRequest.set(request, rule);
}

/** Records the error code a request was answered with, also one a stream's error frame carried. */
export function noteErrorCode(request: FastifyRequest, code: string | null): void {
  if (code) errorCodeByRequest.set(request, code);
}

/** The error code `noteErrorCode` recorded for the request, if any. */
export function answeredErrorCode(request: FastifyRequest): string | undefined {
  return errorCodeByRequest.get(request);
}

export function installRequestLog(app: FastifyInstance, logger: Logger, pulse: Pulse): void {
  app.addHook('onRequest', async (request, reply) => {
    const started = process.hrtime.bigint();
    const response = reply.raw;
    response.once('close', () => {
      const usage = usageByRequest.get(request);
      const utilityRule = utilityRuleByRequest.get(request);
      const errorCode = answeredErrorCode(request);
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const route = request.routeOptions.url ?? 'unmatched';
      const { keyName } = callerOf(request);
      pulse.requestFinished({
        requestId: request.id,
        method: request.method,
        route,
        status: response.statusCode,
        seconds: durationMs / 1000,
        ...(errorCode ? { errorCode } : {}),
      });
      logger.info(
        {
          event: 'api.request',
          requestId: request.id,
          method: request.method,
          route,
          status: response.statusCode,
          ...(errorCode ? { code: errorCode } : {}),
          ...(keyName ? { keyName } : {}),
          ...(utilityRule ? { utility: true, utilityRule } : {}),
          // A response closed before it finished: the client went away (Stop button, timeout).
          clientClosed: !response.writableFinished,
          durationMs: Math.round(durationMs * 10) / 10,
          ...(usage
            ? {
                promptTokens: usage.promptTokens,
                completionTokens: usage.completionTokens,
                totalTokens: usage.totalTokens,
              }
            : {}),
        },
        'request',
      );
    });
  });
}
