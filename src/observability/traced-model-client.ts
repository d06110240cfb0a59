/**
 * A `ModelClient` decorator that records one client span per upstream call (`chat <model>`), following
 * the OpenTelemetry GenAI conventions: the model asked for, the upstream's host and port, the time to
 * the first streamed delta, the finish reason and token usage, and the error code of a failed call. A
 * cancelled call is `aborted`, not an error. Neither the messages sent nor the answer are recorded. The
 * span's parent is whatever span is current when the call starts: the agent run's.
 */
import { type Attributes, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import { type ModelClient, type ModelDelta, type ModelRequest, RunAbortedError } from '../model/index.ts';
import { errorCodeOf, GEN_AI, HERALD } from './span-attributes.ts';

export function traceModelClient(model: ModelClient, tracer: Tracer, upstream: URL): ModelClient {
  const server: Attributes = {
    [GEN_AI.operation]: 'chat',
    // Herald speaks OpenAI's Chat Completions protocol to every upstream; the host tells them apart.
    [GEN_AI.provider]: 'openai',
    [GEN_AI.system]: 'openai',
    [GEN_AI.requestStream]: true,
    [ATTR_SERVER_ADDRESS]: upstream.hostname,
    [ATTR_SERVER_PORT]: Number(upstream.port || (upstream.protocol === 'https:' ? 443 : 80)),
  };

  async function* stream(request: ModelRequest, signal: AbortSignal): AsyncGenerator<ModelDelta> {
    const span = tracer.startSpan(`chat ${request.model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        ...server,
        [GEN_AI.requestModel]: request.model,
        ...(request.maxTokens === undefined ? {} : { [GEN_AI.requestMaxTokens]: request.maxTokens }),
      },
    });
    const started = performance.now();
    let firstDelta = true;
    let failed = false;
    try {
      for await (const delta of model.stream(request, signal)) {
        if (firstDelta) {
          firstDelta = false;
          span.setAttribute(GEN_AI.timeToFirstChunk, (performance.now() - started) / 1000);
        }
        if (delta.type === 'finish') {
          span.setAttributes({
            [GEN_AI.finishReasons]: [delta.finishReason],
            [GEN_AI.inputTokens]: delta.usage.promptTokens,
            [GEN_AI.outputTokens]: delta.usage.completionTokens,
            ...(delta.usage.reasoningTokens === undefined
              ? {}
              : { [GEN_AI.reasoningTokens]: delta.usage.reasoningTokens }),
            [HERALD.usageEstimated]: delta.usage.estimated,
            [HERALD.toolCalls]: delta.toolCalls.length,
          });
        }
        yield delta;
      }
    } catch (error) {
      failed = true;
      if (error instanceof RunAbortedError || signal.aborted) {
        span.setAttribute(HERALD.outcome, 'aborted');
      } else {
        const code = errorCodeOf(error, 'unknown');
        span.setAttributes({ [HERALD.outcome]: 'error', [HERALD.errorCode]: code, [ATTR_ERROR_TYPE]: code });
        // The code, not the message: an upstream's error text may quote the request.
        span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      }
      throw error;
    } finally {
      // The agent stops reading at the `finish` delta, so a good call usually ends here by `return()`.
      if (!failed) span.setAttribute(HERALD.outcome, signal.aborted ? 'aborted' : 'ok');
      span.end();
    }
  }

  return {
    stream,
    ...(model.contextWindow ? { contextWindow: model.contextWindow.bind(model) } : {}),
  };
}
