/**
 * The Responses API routes: `POST /v1/responses` (stateful turns through `previous_response_id` or a
 * conversation, streamed or not), `GET`/`DELETE /v1/responses/:id`, `GET …/input_items` and
 * `POST …/cancel`, plus the Conversations API (conversations-routes.ts). Each turn runs the agent under
 * the server's run limiter and, per conversation or chain, one at a time through the ConversationQueue.
 * Item conversion lives in responses-input.ts, event/Response building in responses-stream.ts; this
 * file decides order: validate, resolve, queue, run, store, answer.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AgentEndEvent, AgentEvent } from '../../../agent/index.ts';
import type { Usage } from '../../../model/index.ts';
import { ModelError, RunAbortedError, zeroUsage } from '../../../model/index.ts';
import {
  newId,
  type ResponseItem,
  type ResponseStore,
  type StoredConversation,
  type StoredResponse,
} from '../../../store/index.ts';
import { itemListBody, registerConversationsRoutes, resolveConversation } from './conversations-routes.ts';
import { ApiError, ServerShutdownError, toApiError } from './errors.ts';
import type { AgentProfile } from './profiles.ts';
import { noteUsage } from './request-log.ts';
import { registerResponsesCompactRoute, saveRunCompaction } from './responses-compact.ts';
import { itemsToAgentContext, normalizeInputItems } from './responses-input.ts';
import {
  type CreateResponseRequest,
  createResponseSchema,
  listItemsQuerySchema,
  parseOrThrow,
} from './responses-request.ts';
import {
  type FinishedResponse,
  ResponseBuilder,
  type ResponseSettings,
  type RunOutcome,
} from './responses-stream.ts';
import { API_PREFIXES, type ApiRouteDeps } from './route-deps.ts';
import { openSse } from './sse-reply.ts';
import { resolveToolItemStyle } from './tool-item-style.ts';

export type ResponsesRouteDeps = ApiRouteDeps & { responseStore: ResponseStore };

/** How a running turn is steered from outside: its abort signal, deletion, and why it was aborted. */
interface TurnControl {
  signal: AbortSignal;
  /** Set by `DELETE` while running: the result must not be stored afterwards. */
  deleted: boolean;
  abortKind(): 'cancelled' | 'interrupted';
}

/** A response being generated right now, so `/cancel` and `DELETE` can reach it. */
interface RunningResponse {
  cancel: AbortController;
  control: TurnControl;
  finished: Promise<FinishedResponse>;
}

interface TurnResult {
  finished: FinishedResponse;
  /** The run's error when it failed (mapped to an HTTP error for non-streamed requests). */
  error?: Error;
  /** The run's summed token counts, for the request's log line. */
  usage: Usage;
}

/** A validated, resolved `POST /v1/responses` turn, ready to queue. */
interface PreparedTurn {
  body: CreateResponseRequest;
  settings: ResponseSettings;
  inputItems: ResponseItem[];
  previous: StoredResponse | undefined;
  conversation: StoredConversation | undefined;
  queueKey: string;
  profile: AgentProfile;
}

export function registerResponsesRoutes(app: FastifyInstance, deps: ResponsesRouteDeps): void {
  const store = deps.responseStore;
  const running = new Map<string, RunningResponse>();

  const notFound = (id: string) =>
    new ApiError(404, `Response with id '${id}' not found.`, {
      type: 'invalid_request_error',
      param: 'response_id',
      code: 'response_not_found',
    });

  for (const prefix of API_PREFIXES) {
    app.post(`${prefix}/responses`, async (request, reply) => {
      const turn = await prepareTurn(request.body, deps);
      return runTurn(turn, reply, deps, running);
    });

    app.get<{ Params: { id: string } }>(`${prefix}/responses/:id`, async (request) => {
      const stored = await store.get(request.params.id);
      if (!stored) throw notFound(request.params.id);
      return stored.body;
    });

    app.delete<{ Params: { id: string } }>(`${prefix}/responses/:id`, async (request) => {
      const { id } = request.params;
      const live = running.get(id);
      if (live) {
        live.control.deleted = true;
        live.cancel.abort(new RunAbortedError('The response was deleted.'));
      }
      if (!(await store.delete(id)) && !live) throw notFound(id);
      return { id, object: 'response', deleted: true };
    });

    app.get<{ Params: { id: string } }>(`${prefix}/responses/:id/input_items`, async (request) => {
      const query = parseOrThrow(listItemsQuerySchema, request.query);
      const page = await store.listInputItems(request.params.id, query);
      if (!page) throw notFound(request.params.id);
      return itemListBody(page);
    });

    app.post<{ Params: { id: string } }>(`${prefix}/responses/:id/cancel`, async (request) => {
      const { id } = request.params;
      const live = running.get(id);
      if (live) {
        live.cancel.abort(new RunAbortedError('The response was cancelled.'));
        return (await live.finished).body;
      }
      const stored = await store.get(id);
      if (!stored) throw notFound(id);
      return stored.body;
    });
  }

  registerConversationsRoutes(app, deps);
  registerResponsesCompactRoute(app, deps);
}

/** Validates the body and resolves everything that can fail with a 4xx before any work starts. */
async function prepareTurn(rawBody: unknown, deps: ResponsesRouteDeps): Promise<PreparedTurn> {
  const store = deps.responseStore;
  const body = parseOrThrow(createResponseSchema, rawBody);
  if (body.background) {
    throw new ApiError(400, 'Background responses are not supported by this server; omit `background`.', {
      param: 'background',
      code: 'unsupported_parameter',
    });
  }
  if (body.previous_response_id && body.conversation) {
    throw new ApiError(
      400,
      "Mutually exclusive parameters: provide only one of 'previous_response_id' or 'conversation'.",
      { param: 'conversation', code: 'mutually_exclusive_parameters' },
    );
  }
  const profile = deps.profiles.resolve(body.model);

  let previous: StoredResponse | undefined;
  if (body.previous_response_id) {
    previous = await store.get(body.previous_response_id);
    if (!previous) {
      throw new ApiError(404, `Previous response with id '${body.previous_response_id}' not found.`, {
        type: 'invalid_request_error',
        param: 'previous_response_id',
        code: 'previous_response_not_found',
      });
    }
  }
  const inputItems = body.input == null ? [] : await normalizeInputItems(body.input, store);
  if (inputItems.length === 0) {
    throw new ApiError(400, "Missing required parameter: 'input'.", {
      param: 'input',
      code: 'missing_required_parameter',
    });
  }

  // Resolved last: a named conversation is created on first use, so only for a request that is valid.
  const conversation = body.conversation
    ? await resolveConversation(
        store,
        typeof body.conversation === 'string' ? body.conversation : body.conversation.id,
      )
    : undefined;

  const id = newId('resp');
  const queueKey = conversation
    ? `responses:conversation:${conversation.id}`
    : previous
      ? `responses:chain:${(await store.chainRoot(previous.id)) ?? previous.id}`
      : `responses:${id}`;

  const settings: ResponseSettings = {
    id,
    createdAt: Math.floor(Date.now() / 1000),
    model: profile.id,
    instructions: body.instructions ?? null,
    previousResponseId: previous?.id ?? null,
    conversationId: conversation?.id ?? null,
    store: body.store ?? true,
    metadata: body.metadata ?? {},
    maxOutputTokens: body.max_output_tokens ?? null,
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    tools: body.tools ?? [],
    toolChoice: body.tool_choice ?? 'auto',
    parallelToolCalls: body.parallel_tool_calls ?? true,
    text: body.text ?? { format: { type: 'text' } },
    truncation: body.truncation ?? 'disabled',
    user: body.user ?? null,
  };
  return { body, settings, inputItems, previous, conversation, queueKey, profile };
}

/** Runs an accepted turn: slot, queue, agent, store, answer (JSON or SSE). */
async function runTurn(
  turn: PreparedTurn,
  reply: FastifyReply,
  deps: ResponsesRouteDeps,
  running: Map<string, RunningResponse>,
): Promise<unknown> {
  const { settings } = turn;
  const releaseSlot = deps.limiter.acquire();
  const clientGone = new AbortController();
  const cancel = new AbortController();
  let activeRun: ReturnType<ResponsesRouteDeps['runs']['register']>;
  try {
    activeRun = deps.runs.register(AbortSignal.any([clientGone.signal, cancel.signal]));
  } catch (error) {
    releaseSlot();
    throw error;
  }
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) clientGone.abort(new RunAbortedError('The client disconnected.'));
  });

  const sse = turn.body.stream ? openSse(reply, deps.config.api_server.heartbeat_s * 1000) : undefined;
  const builder = new ResponseBuilder(settings, {
    sink: sse ? (event) => sse.send(event, event.type) : undefined,
    toolItems: resolveToolItemStyle(
      deps.config.api_server.responses.tool_items,
      reply.request.headers['user-agent'],
    ),
  });
  const control: TurnControl = {
    signal: activeRun.signal,
    deleted: false,
    // Whoever aborted first decides: the server's shutdown (`interrupted`) or the client (`cancelled`).
    abortKind: () => (activeRun.signal.reason instanceof ServerShutdownError ? 'interrupted' : 'cancelled'),
  };
  const result = (async () => {
    try {
      await builder.start();
      return await deps.queue.run(turn.queueKey, () => executeTurn(turn, builder, deps, control));
    } finally {
      running.delete(settings.id);
      activeRun.release();
      releaseSlot();
    }
  })();
  const finished = result.then((r) => r.finished);
  // A view for `/cancel`; a rejection of `result` itself is handled below.
  finished.catch(() => {});
  running.set(settings.id, { cancel, control, finished });

  let outcome: TurnResult;
  try {
    outcome = await result;
    noteUsage(reply.request, outcome.usage);
  } catch (error) {
    // Only a store failure gets here; the agent's own failures are outcomes.
    if (!sse) throw error;
    deps.logger.error(
      { event: 'responses.store_failed', responseId: settings.id, err: error },
      'store failed',
    );
    const failed = await builder.finish(
      {
        kind: 'failed',
        code: 'server_error',
        message: 'The response could not be stored.',
        usage: zeroUsage(),
      },
      Math.floor(Date.now() / 1000),
    );
    await builder.sendTerminal(failed);
    sse.end();
    return reply;
  }
  if (sse) {
    sse.end();
    return reply;
  }
  // The original error, so the error handler logs a bug with its own stack (and maps it to the status).
  if (outcome.finished.status === 'failed') throw outcome.error ?? toApiError(outcome.error);
  return outcome.finished.body;
}

/**
 * The queued part of a turn: load history (now that earlier turns of the same conversation have
 * finished), store the turn as in progress, run the agent, then store the result before the
 * terminal event is sent, so a client reacting to `response.completed` can chain on it at once.
 */
async function executeTurn(
  turn: PreparedTurn,
  builder: ResponseBuilder,
  deps: ResponsesRouteDeps,
  control: TurnControl,
): Promise<TurnResult> {
  const store = deps.responseStore;
  const { settings, inputItems, previous, conversation, profile, body } = turn;
  const history = previous
    ? await store.chainHistory(previous.id)
    : conversation
      ? await store.conversationHistory(conversation.id)
      : undefined;
  const context = itemsToAgentContext([...(history?.items ?? []), ...inputItems], history?.compacted);
  const systemPrompts = [profile.systemPrompt, ...context.systemPrompts, body.instructions].filter(
    (p): p is string => typeof p === 'string' && p !== '',
  );

  const record = (
    status: StoredResponse['status'],
    bodyJson: Record<string, unknown>,
    output: ResponseItem[],
  ) =>
    store.put({
      id: settings.id,
      status,
      body: bodyJson,
      inputItems,
      outputItems: output,
      previousResponseId: settings.previousResponseId,
      conversationId: settings.conversationId,
      createdAt: settings.createdAt,
    });
  if (settings.store && !control.deleted) await record('in_progress', builder.snapshot('in_progress'), []);

  const { outcome, error, end } = await consumeRun(
    deps.agent.run({
      messages: context.messages,
      systemPrompts,
      platform: 'api',
      toolset: profile.toolset,
      model: {
        id: profile.upstreamModel,
        maxTokens: body.max_output_tokens ?? undefined,
        temperature: body.temperature ?? undefined,
        topP: body.top_p ?? undefined,
      },
      signal: control.signal,
    }),
    builder,
    control,
  );
  const finished = await builder.finish(outcome, Math.floor(Date.now() / 1000));

  if (settings.store && !control.deleted) {
    await record(finished.status, finished.body, finished.output);
    if (conversation && finished.status !== 'failed') {
      await store.appendConversationItems(conversation.id, [...inputItems, ...finished.output]);
    }
    if (end?.compaction && (!conversation || finished.status !== 'failed')) {
      await saveRunCompaction(
        store,
        conversation ? { conversationId: conversation.id } : { responseId: settings.id },
        context,
        end,
      );
    }
  }
  deps.logger.info(
    { event: 'responses.finished', responseId: settings.id, status: finished.status, stored: settings.store },
    'response finished',
  );
  // A bug in the run (not an upstream failure) must leave a trace; a non-streamed one is logged by the
  // error handler when it answers 500, a streamed one only ends as `response.failed`.
  if (error && !(error instanceof ModelError) && body.stream) {
    deps.logger.error(
      { event: 'responses.run_failed', responseId: settings.id, err: error },
      'agent run failed',
    );
  }
  await builder.sendTerminal(finished);
  return { finished, error, usage: outcome.kind === 'done' ? outcome.event.usage : outcome.usage };
}

/** Feeds the agent's events to the builder and classifies how the run ended. */
async function consumeRun(
  events: AsyncIterable<AgentEvent>,
  builder: ResponseBuilder,
  control: TurnControl,
): Promise<{ outcome: RunOutcome; error?: Error; end?: AgentEndEvent }> {
  let usage: Usage = zeroUsage();
  try {
    for await (const event of events) {
      if (event.type === 'done') return { outcome: { kind: 'done', event }, end: event };
      if (event.type === 'error') {
        if (control.signal.aborted || event.error instanceof RunAbortedError) {
          return { outcome: { kind: control.abortKind(), usage: event.usage }, end: event };
        }
        return {
          outcome: { kind: 'failed', ...failureOf(event.error), usage: event.usage },
          error: event.error,
          end: event,
        };
      }
      if (event.type === 'usage') usage = event.total;
      await builder.apply(event);
    }
  } catch (caught) {
    // A runner that throws instead of ending with an `error` event (a bug, not an upstream failure) is
    // still a failed run: classified here, it is stored as failed rather than left `in_progress`.
    if (control.signal.aborted) return { outcome: { kind: control.abortKind(), usage } };
    const error = caught instanceof Error ? caught : new Error(String(caught));
    return { outcome: { kind: 'failed', ...failureOf(error), usage }, error };
  }
  // The stream ended without a terminal event: a failure, never a silent success.
  const error = new Error('The agent run ended without a result.');
  return { outcome: { kind: 'failed', code: 'server_error', message: error.message, usage }, error };
}

/** The Response `error` object for a failed run: a rate-limit code clients know, else server_error. */
function failureOf(error: Error): { code: string; message: string } {
  if (error instanceof ModelError) {
    return {
      code: error.code === 'upstream_rate_limited' ? 'rate_limit_exceeded' : 'server_error',
      message: error.message,
    };
  }
  return { code: 'server_error', message: 'The server had an error while processing your request.' };
}
