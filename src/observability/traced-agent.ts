/**
 * An `AgentRunner` decorator that records one span per agent run (`invoke_agent herald`): the platform,
 * toolset and model asked for, and when the run ends its outcome, finish reason, token usage, number of
 * hosted tool calls and the error code of a failed run. The run's model calls and tool calls nest
 * under it because the run's loop starts with the span current. An API run nests under its HTTP
 * request's span; a chat platform's turn has no request to continue, so its run is the root of its own
 * trace. It passes every event through unchanged and records no message text.
 */
import { context, ROOT_CONTEXT, type Span, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import type { AgentEvent, AgentInput, AgentRunner } from '../agent/index.ts';
import { runEnd } from './observed-agent.ts';
import { GEN_AI, HERALD } from './span-attributes.ts';

export function traceAgent(agent: AgentRunner, tracer: Tracer): AgentRunner {
  function run(input: AgentInput): AsyncIterable<AgentEvent> {
    const parent = input.platform === 'api' ? context.active() : ROOT_CONTEXT;
    const span = tracer.startSpan(
      'invoke_agent herald',
      {
        attributes: {
          [GEN_AI.operation]: 'invoke_agent',
          [GEN_AI.agentName]: 'herald',
          [HERALD.platform]: input.platform,
          ...(input.toolset ? { [HERALD.toolset]: input.toolset } : {}),
          ...(input.model?.id ? { [GEN_AI.requestModel]: input.model.id } : {}),
        },
      },
      parent,
    );
    // The Agent starts its loop inside `run()`: everything the loop awaits inherits this context.
    const events = context.with(trace.setSpan(parent, span), () => agent.run(input));
    return endWithRun(events, span, input.signal);
  }
  return {
    run,
    ...(agent.compact ? { compact: agent.compact.bind(agent) } : {}),
  };
}

async function* endWithRun(
  events: AsyncIterable<AgentEvent>,
  span: Span,
  signal: AbortSignal,
): AsyncGenerator<AgentEvent> {
  let toolCalls = 0;
  let ended = false;
  try {
    for await (const event of events) {
      if (event.type === 'tool-call-end') toolCalls++;
      else if (event.type === 'done' || event.type === 'error') {
        ended = true;
        const end = runEnd(event, signal);
        span.setAttributes({
          [HERALD.outcome]: end.outcome === 'done' ? 'ok' : end.outcome,
          [GEN_AI.inputTokens]: end.promptTokens,
          [GEN_AI.outputTokens]: end.completionTokens,
          ...(event.type === 'done' ? { [GEN_AI.finishReasons]: [event.finishReason] } : {}),
        });
        if (end.errorCode) {
          span.setAttributes({ [HERALD.errorCode]: end.errorCode, [ATTR_ERROR_TYPE]: end.errorCode });
          span.setStatus({ code: SpanStatusCode.ERROR, message: end.errorCode });
        }
      }
      yield event;
    }
  } finally {
    // A consumer that leaves early (client gone) cancels the run without an end event.
    if (!ended) span.setAttribute(HERALD.outcome, 'aborted');
    span.setAttribute(HERALD.toolCalls, toolCalls);
    span.end();
  }
}
