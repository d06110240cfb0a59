/**
 * The Responses API routes: `POST /v1/responses` (stateful turns through `previous_response_id` or a
 * conversation, streamed or not), `GET`/`DELETE /v1/responses/:id`, `GET …/input_items` and
 * `POST …/cancel`, plus the Conversations API (conversations-routes.ts). Each turn runs the agent under
 * the server's run limiter and, per conversation or chain, one at a time through the ConversationQueue.
 * Item conversion lives in responses-input.ts, event/Response building in responses-stream.ts; this
 * file decides order: validate, resolve, queue, run, store, answer.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AgentEndEvent, AgentEvent, AgentInput } from '../../../agent/index.ts';
import type { Usage } from '../../../model/index.ts';
import { ModelError, RunAbortedError, zeroUsage } from '../../../model/index.ts';
import {
  newId,
  type ResponseItem,
  type ResponseStore,
  type StoredConversation,
  type StoredResponse,
} from '../../../store/index.ts';
import { type ApiCaller, callerOf } from './api-caller.ts';
import { type ClientTools, parseClientTools } from './client-tools.ts';
import { itemListBody, registerConversationsRoutes, resolveConversation } from './conversations-routes.ts';
import { echoedTools } from './echoed-tools.ts';
import { ApiError, isStorageFull, ServerShutdownError, storageFull, toApiError } from './errors.ts';
import { OutputCheckpoints } from './output-checkpoints.ts';
import type { AgentProfile } from './profiles.ts';
import { noteErrorCode, noteUsage } from './request-log.ts';
import { registerResponsesCompactRoute, saveRunCompaction } from './responses-compact.ts';
import { itemsToAgentContext, normalizeInputItems, rejectUnansweredCalls } from './responses-input.ts';
import {
  type CreateResponseRequest,
  createResponseSchema,
  listItemsQuerySchema,
  parseOrThrow,
} from './responses-request.ts';
import {
  type EventSink,
  type FinishedResponse,
  ResponseBuilder,
  type ResponseSettings,
  type RunOutcome,
} from './responses-stream.ts';
import { API_PREFIXES, type ApiRouteDeps } from './route-deps.ts';
import { responsesSamplingSettings } from './sampling-params.ts';
import { openSse } from './sse-reply.ts';
import type { SseWriter } from './sse-writer.ts';

/** How often a running response's partial output is stored (what a killed process leaves behind). */
const CHECKPOINT_INTERVAL_MS = 1_000;

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
  owner: string;
  cancel: AbortController;
  control: TurnControl;
  finished: Promise<FinishedResponse>;
}

/** The responses running right now, by id, whichever transport started them. */
type RunningResponses = Map<string, RunningResponse>;

/**
 * Where a turn finds the response it continues: the store, or (WebSocket mode) a view that also knows
 * the socket's last `store: false` response.
 */
export type ChainSource = Pick<ResponseStore, 'get' | 'chainItems' | 'chainHistory' | 'chainRoot'>;

/** How a turn reaches its client: SSE, a JSON answer, or a WebSocket. */
export interface TurnTransport {
  /** Called once the turn is admitted (slot and run taken): the sink for its stream events, or none for a JSON answer. */
  open(): EventSink | undefined;
  /** Aborts the run when the client goes away. */
  clientGone: AbortSignal;
}

/** The turn pipeline as a transport sees it: `prepare` (validate, resolve: 4xx here), then `run`. */
export interface ResponseTurns {
  prepare(rawBody: unknown, chains: ChainSource, caller: ApiCaller): Promise<PreparedTurn>;
  run(turn: PreparedTurn, transport: TurnTransport): Promise<TurnResult>;
}

export interface TurnResult {
  finished: FinishedResponse;
  /** The run's error when it failed (mapped to an HTTP error for non-streamed requests). */
  error?: Error;
  /** The run's summed token counts, for the request's log line. */
  usage: Usage;
}

/** A validated, resolved `POST /v1/responses` turn, ready to queue. */
export interface PreparedTurn {
  body: CreateResponseRequest;
  settings: ResponseSettings;
  inputItems: ResponseItem[];
  previous: StoredResponse | undefined;
  conversation: StoredConversation | undefined;
  queueKey: string;
  profile: AgentProfile;
  owner: string;
  clientTools: ClientTools;
  chains: ChainSource;
  /** Set by the runs API, which reuses this pipeline. */
  hooks?: TurnHooks;
}

/** What a runs-API turn adds to a plain Responses turn: an asker, steering, and a view of the run. */
export interface TurnHooks extends Pick<AgentInput, 'approve' | 'approvalSession' | 'steering'> {
  /** Called once the turn left its queue and the agent starts. */
  started(): void;
  /** Every agent event, the ending one included, before the builder sees it. */
  observe(event: AgentEvent): void;
}

export type SharedResponseTurns = ResponseTurns & { running: RunningResponses };

/** The running set shared by the routes and the WebSocket mode, so `/cancel` and `DELETE` reach both. */
export function createResponseTurns(deps: ResponsesRouteDeps): SharedResponseTurns {
  const running: RunningResponses = new Map();
  return {
    running,
    prepare: (rawBody, chains, caller) => prepareTurn(rawBody, deps, chains, caller),
    run: (turn, transport) => runTurn(turn, transport, deps, running),
  };
}

export function registerResponsesRoutes(
  app: FastifyInstance,
  deps: ResponsesRouteDeps,
  turns = createResponseTurns(deps),
): void {
  const store = deps.responseStore;
  const { running } = turns;

  const notFound = (id: string) =>
    new ApiError(404, `Response with id '${id}' not found.`, {
      type: 'invalid_request_error',
      param: 'response_id',
      code: 'response_not_found',
    });

  type IdRequest = FastifyRequest<{ Params: { id: string } }>;
  // Another key's response answers exactly like a missing one: its existence is not revealed.
  const liveOf = (request: IdRequest) => {
    const live = running.get(request.params.id);
    return live?.owner === callerOf(request).owner ? live : undefined;
  };
  const storedOf = async (request: IdRequest) => {
    const stored = await store.get(request.params.id);
    return stored?.owner === callerOf(request).owner ? stored : undefined;
  };
  const ownStored = async (request: IdRequest) => {
    const stored = await storedOf(request);
    if (!stored) throw notFound(request.params.id);
    return stored;
  };

  const cancelled = async (live: RunningResponse) => {
    live.cancel.abort(new RunAbortedError('The response was cancelled.'));
    return (await live.finished).body;
  };
  const stopDeleted = (live: RunningResponse) => {
    live.control.deleted = true;
    live.cancel.abort(new RunAbortedError('The response was deleted.'));
  };

  for (const prefix of API_PREFIXES) {
    app.post(`${prefix}/responses`, async (request, reply) => {
      const turn = await prepareTurn(request.body, deps, store, callerOf(request));
      return answerHttp(turn, reply, deps, turns);
    });

    app.get<{ Params: { id: string } }>(`${prefix}/responses/:id`, async (request) => {
      return (await ownStored(request)).body;
    });

    app.delete<{ Params: { id: string } }>(`${prefix}/responses/:id`, async (request) => {
      const { id } = request.params;
      const live = liveOf(request);
      const stored = await storedOf(request);
      if (!live && !stored) throw notFound(id);
      if (live) stopDeleted(live);
      // Running on another replica: it stops the run and stores nothing more of it.
      else if (stored && isUnfinished(stored)) await deps.control?.send({ kind: 'response', id }, 'delete');
      if (stored) await store.delete(id);
      return { id, object: 'response', deleted: true };
    });

    app.get<{ Params: { id: string } }>(`${prefix}/responses/:id/input_items`, async (request) => {
      const query = parseOrThrow(listItemsQuerySchema, request.query);
      await ownStored(request);
      const page = await store.listInputItems(request.params.id, query);
      if (!page) throw notFound(request.params.id);
      return itemListBody(page);
    });

    app.post<{ Params: { id: string } }>(`${prefix}/responses/:id/cancel`, async (request) => {
      const live = liveOf(request);
      if (live) return cancelled(live);
      const stored = await ownStored(request);
      if (isUnfinished(stored)) {
        const remote = await deps.control?.send({ kind: 'response', id: stored.id }, 'cancel');
        const body = (remote?.answer as { body?: unknown } | null | undefined)?.body;
        if (body) return body;
      }
      throw new ApiError(
        409,
        `Cannot cancel response '${stored.id}': its status is '${stored.status}'. Only a running response can be cancelled.`,
        { type: 'invalid_request_error', param: 'response_id', code: 'response_not_cancellable' },
      );
    });
  }

  // Cancels and deletes sent by other replicas for the responses running here.
  deps.control?.serve('response', async ({ target, action }) => {
    const live = running.get(target.id);
    if (!live) return null;
    if (action === 'cancel') return { body: await cancelled(live) };
    if (action !== 'delete') return null;
    stopDeleted(live);
    await live.finished.catch(() => undefined);
    // A checkpoint written just before the delete arrived must not outlive it.
    await store.delete(target.id);
    return { deleted: true };
  });

  registerConversationsRoutes(app, deps);
  registerResponsesCompactRoute(app, deps);
}

/** A stored response some replica may still be running. */
function isUnfinished(stored: StoredResponse): boolean {
  return stored.status === 'in_progress' || stored.status === 'queued';
}

/** Validates the body and resolves everything that can fail with a 4xx before any work starts. */
async function prepareTurn(
  rawBody: unknown,
  deps: ResponsesRouteDeps,
  chains: ChainSource,
  caller: ApiCaller,
): Promise<PreparedTurn> {
  const store = deps.responseStore;
  const { owner } = caller;
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
  const profile = deps.profiles.resolve(body.model, caller.profiles);
  const clientTools = parseClientTools(body, 'responses', deps.profiles.toolNames(profile));

  let previous: StoredResponse | undefined;
  if (body.previous_response_id) {
    previous = await chains.get(body.previous_response_id);
    if (previous?.owner !== owner) {
      throw new ApiError(404, `Previous response with id '${body.previous_response_id}' not found.`, {
        type: 'invalid_request_error',
        param: 'previous_response_id',
        code: 'previous_response_not_found',
      });
    }
    if (previous.status === 'in_progress' || previous.status === 'queued') {
      throw new ApiError(
        409,
        `Previous response with id '${previous.id}' is still ${previous.status}: wait for it to finish (or cancel it) before continuing from it.`,
        {
          type: 'invalid_request_error',
          param: 'previous_response_id',
          code: 'previous_response_not_finished',
        },
      );
    }
  }
  const inputItems = body.input == null ? [] : await normalizeInputItems(body.input, store, owner);
  if (inputItems.length === 0) {
    throw new ApiError(400, "Missing required parameter: 'input'.", {
      param: 'input',
      code: 'missing_required_parameter',
    });
  }
  rejectUnansweredCalls([...(previous?.outputItems ?? []), ...inputItems]);

  // Resolved last: a named conversation is created on first use, so only for a request that is valid.
  const conversation = body.conversation
    ? await resolveConversation(
        store,
        typeof body.conversation === 'string' ? body.conversation : body.conversation.id,
        owner,
      )
    : undefined;

  const id = newId('resp');
  const queueKey = conversation
    ? `responses:conversation:${conversation.id}`
    : previous
      ? `responses:chain:${(await chains.chainRoot(previous.id)) ?? previous.id}`
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
    maxToolCalls: body.max_tool_calls ?? null,
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    presencePenalty: body.presence_penalty ?? 0,
    frequencyPenalty: body.frequency_penalty ?? 0,
    topLogprobs: body.top_logprobs ?? 0,
    tools: echoedTools(body.tools ?? []),
    toolChoice: body.tool_choice ?? 'auto',
    parallelToolCalls: body.parallel_tool_calls ?? true,
    text: echoedText(body.text),
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    truncation: body.truncation ?? 'disabled',
    user: body.user ?? null,
    safetyIdentifier: body.safety_identifier ?? null,
    promptCacheKey: body.prompt_cache_key ?? null,
  };
  return {
    body,
    settings,
    inputItems,
    previous,
    conversation,
    queueKey,
    profile,
    owner,
    clientTools,
    chains,
  };
}

/**
 * `text` as a Response echoes it: the format with every field the specification requires (a json_schema
 * format's `description`, `schema` and `strict` default to null, null and false) and the verbosity (default `medium`).
 */
function echoedText(text: CreateResponseRequest['text']): Record<string, unknown> {
  const format = text?.format ?? { type: 'text' };
  return {
    ...text,
    format:
      format.type === 'json_schema'
        ? {
            ...format,
            description: format.description ?? null,
            schema: format.schema ?? null,
            strict: format.strict ?? false,
          }
        : format,
    verbosity: text?.verbosity ?? 'medium',
  };
}

/** Answers `POST /v1/responses`: streamed as SSE, or as JSON (the Response, or the run's error). */
async function answerHttp(
  turn: PreparedTurn,
  reply: FastifyReply,
  deps: ResponsesRouteDeps,
  turns: ResponseTurns,
): Promise<unknown> {
  const clientGone = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) clientGone.abort(new RunAbortedError('The client disconnected.'));
  });
  let sse: SseWriter | undefined;
  const run = turns.run(turn, {
    open: () => {
      if (!turn.body.stream) return undefined;
      const writer = openSse(reply, deps.config.api_server.heartbeat_s * 1000);
      sse = writer;
      return (event) => writer.send(event, event.type);
    },
    clientGone: clientGone.signal,
  });
  let outcome: TurnResult;
  try {
    outcome = await run;
  } finally {
    // Whatever happened, an opened stream ends: a hijacked reply left open would only send heartbeats.
    if (sse) await endResponsesStream(sse);
  }
  noteUsage(reply.request, outcome.usage);
  if (outcome.finished.status === 'failed') noteErrorCode(reply.request, toApiError(outcome.error).code);
  if (sse) return reply;
  // The original error, so the error handler logs a bug with its own stack (and maps it to the status).
  if (outcome.finished.status === 'failed') throw outcome.error ?? toApiError(outcome.error);
  return outcome.finished.body;
}

/**
 * Runs an accepted turn over any transport: slot, queue, agent, store, events. Resolves once the
 * terminal event has gone to the sink; throws before any event only when the turn is not admitted
 * (429, 503), and a store failure only when there is no sink to report it on.
 */
async function runTurn(
  turn: PreparedTurn,
  transport: TurnTransport,
  deps: ResponsesRouteDeps,
  running: RunningResponses,
): Promise<TurnResult> {
  const { settings } = turn;
  const releaseSlot = await deps.limiter.acquire(transport.clientGone);
  const cancel = new AbortController();
  let activeRun: ReturnType<ResponsesRouteDeps['runs']['register']>;
  try {
    activeRun = deps.runs.register(AbortSignal.any([transport.clientGone, cancel.signal]));
  } catch (error) {
    releaseSlot();
    throw error;
  }

  const sink = transport.open();
  const builder = new ResponseBuilder(settings, {
    sink,
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
  running.set(settings.id, { owner: turn.owner, cancel, control, finished });

  try {
    return await result;
  } catch (error) {
    // Only a store failure gets here; the agent's own failures are outcomes.
    if (!sink) throw error;
    deps.logger.error(
      { event: 'responses.store_failed', responseId: settings.id, err: error },
      'store failed',
    );
    const full = isStorageFull(error) ? storageFull() : undefined;
    const failed = await builder.finish(
      {
        kind: 'failed',
        code: full?.code ?? 'server_error',
        message: full?.message ?? 'The response could not be stored.',
        usage: zeroUsage(),
      },
      Math.floor(Date.now() / 1000),
    );
    await builder.sendTerminal(failed);
    return { finished: failed, usage: zeroUsage() };
  }
}

/** The Open Responses stream ends with the literal `[DONE]` after its terminal event, as chat streams do. */
async function endResponsesStream(sse: SseWriter): Promise<void> {
  try {
    await sse.send('[DONE]');
  } finally {
    sse.end();
  }
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
  const { settings, inputItems, previous, conversation, profile, body, clientTools } = turn;
  const history = previous
    ? await turn.chains.chainHistory(previous.id)
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
      owner: turn.owner,
    });
  if (settings.store && !control.deleted) await record('in_progress', builder.snapshot('in_progress'), []);
  const checkpoints = settings.store
    ? new OutputCheckpoints({
        intervalMs: CHECKPOINT_INTERVAL_MS,
        snapshot: () => builder.snapshot('in_progress'),
        write: async (snapshot) => {
          if (!control.deleted) await record('in_progress', snapshot, snapshot['output'] as ResponseItem[]);
        },
        onError: (err) =>
          deps.logger.warn(
            { event: 'responses.checkpoint_failed', responseId: settings.id, err },
            'checkpoint failed',
          ),
      })
    : undefined;

  const hooks = turn.hooks;
  hooks?.started();
  const { outcome, error, end } = await consumeRun(
    deps.agent.run({
      messages: context.messages,
      systemPrompts,
      platform: 'api',
      toolset: profile.toolset,
      model: { id: profile.upstreamModel, ...responsesSamplingSettings(body) },
      clientTools: clientTools.tools,
      toolChoice: clientTools.toolChoice,
      parallelToolCalls: clientTools.parallelToolCalls,
      approve: hooks?.approve,
      approvalSession: hooks?.approvalSession,
      steering: hooks?.steering,
      signal: control.signal,
    }),
    builder,
    control,
    hooks?.observe,
  ).finally(() => checkpoints?.stop());
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
  observe?: (event: AgentEvent) => void,
): Promise<{ outcome: RunOutcome; error?: Error; end?: AgentEndEvent }> {
  let usage: Usage = zeroUsage();
  try {
    for await (const event of events) {
      observe?.(event);
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
