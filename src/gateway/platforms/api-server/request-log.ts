/**
 * One structured log line per HTTP request (`api.request`): request id, method, route, status,
 * duration, the API key's configured name (never the key), for agent routes token counts, and for a
 * frontend's background request served lightly `utility: true` with the rule that matched. It hooks the raw response's close so streamed
 * (hijacked) replies are logged like ordinary ones. Never logs keys, headers or message content.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from '../../../logger.ts';
import type { Usage } from '../../../model/types.ts';
import { callerOf } from './api-caller.ts';

const usageByRequest = new WeakMap<FastifyRequest, Usage>();
const utilityRuleByRequest = new WeakMap<FastifyRequest, string>();

/** Records the run's summed usage so the request's log line carries token counts. */
export function noteUsage(request: FastifyRequest, usage: Usage): void {
  usageByRequest.set(request, usage);
}

/** Marks the request as a utility request (utility-requests.ts) served without the agent's prompt and tools. */
export function noteUtility(request: FastifyRequest, rule: string): void {
  utilityRuleByRequest.set(request, rule);
}

export function installRequestLog(app: FastifyInstance, logger: Logger): void {
  app.addHook('onRequest', async (request, reply) => {
    const started = process.hrtime.bigint();
    const response = reply.raw;
    response.once('close', () => {
      const usage = usageByRequest.get(request);
      const utilityRule = utilityRuleByRequest.get(request);
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const { keyName } = callerOf(request);
      logger.info(
        {
          event: 'api.request',
          requestId: request.id,
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: response.statusCode,
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
