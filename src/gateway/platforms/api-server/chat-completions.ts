/**
 * `POST /v1/chat/completions` (and `/chat/completions`): validates the request, picks the agent profile,
 * takes a run slot, finds the session transcript, runs the agent in the session's queue slot and renders
 * its events as one `chat.completion` body or as an SSE stream of chunks (with heartbeats, and an error
 * frame on mid-stream failure). Client disconnect and shutdown abort the run through its AbortSignal. The
 * model's reasoning goes to `reasoning_content`; the agent's own tools show only as progress
 * (`api_server.tool_progress`: lines in `reasoning_content`, `herald.tool.progress` events, or inline
 * text); the client's function tools (`tools`) are offered beside them, and a call to one ends the
 * answer with `tool_calls`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AgentEvent, AgentInput } from '../../../agent/index.ts';
import { RunAbortedError } from '../../../model/errors.ts';
import { type Usage, zeroUsage } from '../../../model/types.ts';
import type { TranscriptStore } from '../../../store/index.ts';
import { callerOf } from './api-caller.ts';
import {
  ChunkBuilder,
  type CompletionIdentity,
  completionBody,
  newCompletionIdentity,
  type ToolCallEvent,
} from './chat-completion-chunks.ts';
import { type ParsedChatCompletionRequest, parseChatCompletionRequest } from './chat-completions-request.ts';
import { ChatReasoning, paragraphBreak } from './chat-reasoning.ts';
import { ChatSessions, type ResolvedConversation, SESSION_HEADER, sessionScope } from './chat-sessions.ts';
import { type ClientTools, parseClientTools } from './client-tools.ts';
import { ApiError, toApiError } from './errors.ts';
import type { AgentProfile } from './profiles.ts';
import { noteErrorCode, noteUsage, noteUtility } from './request-log.ts';
import { API_PREFIXES, type ApiRouteDeps } from './route-deps.ts';
import { LazySse } from './sse-reply.ts';
import type { SseWriter } from './sse-writer.ts';
import { classifyUtilityRequest, type UtilityMatch } from './utility-requests.ts';

export interface ChatCompletionsDeps extends ApiRouteDeps {
  transcripts: TranscriptStore;
}

const sessionIdPattern = /^hs_[a-f0-9]{32}$/;

export function registerChatCompletionsRoutes(app: FastifyInstance, deps: ChatCompletionsDeps): void {
  const sessions = new ChatSessions(deps.transcripts);
  const handler = (request: FastifyRequest, reply: FastifyReply) =>
    handleChatCompletion(deps, sessions, request, reply);
  for (const prefix of API_PREFIXES) app.post(`${prefix}/chat/completions`, handler);
}

interface RunContext {
  deps: ChatCompletionsDeps;
  sessions: ChatSessions;
  parsed: ParsedChatCompletionRequest;
  clientTools: ClientTools;
  profile: AgentProfile;
  scope: string;
  /** Set when the request is a frontend's background task (utility-requests.ts), served bare and not stored. */
  utility: UtilityMatch | undefined;
  identity: CompletionIdentity;
  signal: AbortSignal;
  request: FastifyRequest;
}

async function handleChatCompletion(
  deps: ChatCompletionsDeps,
  sessions: ChatSessions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const parsed = parseChatCompletionRequest(request.body);
  const caller = callerOf(request);
  const profile = deps.profiles.resolve(parsed.model, caller.profiles);
  const clientTools = parseClientTools(parsed.clientToolFields, 'chat', deps.profiles.toolNames(profile));
  // The client going away (Stop button, timeout) cancels the run: the raw response closes unfinished.
  const disconnect = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished)
      disconnect.abort(new RunAbortedError('The client closed the connection.'));
  });
  // A stream does not open while it waits for a slot, so a full queue is still a real 429 status.
  const releaseSlot = await deps.limiter.acquire(disconnect.signal);
  let run: ReturnType<ChatCompletionsDeps['runs']['register']> | undefined;
  let stream: { sse: LazySse; chunks: ChunkBuilder } | undefined;
  try {
    run = deps.runs.register(disconnect.signal);
    const utility =
      deps.config.api_server.utility_requests === 'auto' ? classifyUtilityRequest(parsed) : undefined;
    const ctx: RunContext = {
      deps,
      sessions,
      parsed,
      clientTools,
      profile,
      scope: sessionScope({ owner: caller.owner, profileId: profile.id, endUser: parsed.endUser }),
      utility,
      identity: newCompletionIdentity(parsed.model ?? profile.id),
      signal: run.signal,
      request,
    };
    if (utility) {
      // A frontend's background task: no session, no transcript, no queue behind the chat's own turns.
      noteUtility(request, utility.rule);
      stream = parsed.stream ? openLazily(ctx, reply) : undefined;
      return await answer(ctx, reply, stream, async () => ({
        sessionId: '',
        messages: parsed.messages,
        visibleBefore: [],
        continued: false,
      }));
    }
    const headerValue = request.headers[SESSION_HEADER];
    const headerSessionId =
      typeof headerValue === 'string' && sessionIdPattern.test(headerValue) ? headerValue : undefined;
    const sessionId = await sessions.sessionIdFor({
      headerSessionId,
      scope: ctx.scope,
      messages: parsed.messages,
    });
    reply.header(SESSION_HEADER, sessionId);
    const viaHeader = sessionId === headerSessionId;
    // Streams open before the queue slot so a request waiting behind another run gets heartbeats.
    stream = parsed.stream ? openLazily(ctx, reply) : undefined;
    const opened = stream;
    return await deps.queue.run(sessionId, () =>
      answer(ctx, reply, opened, () =>
        sessions.resolve({ sessionId, viaHeader, scope: ctx.scope, messages: parsed.messages }),
      ),
    );
  } finally {
    stream?.sse.dispose();
    run?.release();
    releaseSlot();
  }
}

/**
 * Runs the turn and answers it, as a body or on the stream. `conversation` is resolved only now, inside
 * the session's queue slot, so it sees the previous run's transcript.
 */
async function answer(
  ctx: RunContext,
  reply: FastifyReply,
  stream: { sse: LazySse; chunks: ChunkBuilder } | undefined,
  conversation: () => Promise<ResolvedConversation>,
): Promise<unknown> {
  try {
    // The client may have left (or the server begun shutting down) while this request waited.
    if (ctx.signal.aborted) throw abortFailure(ctx.signal);
    const resolved = await conversation();
    if (stream) {
      await streamCompletion(ctx, resolved, stream.sse, stream.chunks);
      return reply;
    }
    return await completeOnce(ctx, resolved);
  } catch (error) {
    // Once a stream is open the error handler cannot answer (the reply is hijacked): end it here.
    // Before that, the handler answers (and logs a bug with its stack); an aborted run fails for
    // why it was aborted, whatever error it ended with, so the code below throws errors unmapped.
    const sse = stream?.sse.opened;
    if (!sse) throw ctx.signal.aborted ? abortFailure(ctx.signal) : error;
    if (sse.closed) sse.end();
    else await endWithError(ctx, sse, stream.chunks, runFailure(ctx, error));
    return reply;
  }
}

function agentInput(ctx: RunContext, conversation: ResolvedConversation): AgentInput {
  const model: NonNullable<AgentInput['model']> = { ...ctx.parsed.sampling };
  const upstreamModel =
    (ctx.utility && ctx.deps.config.api_server.utility_model) || ctx.profile.upstreamModel;
  if (upstreamModel) model.id = upstreamModel;
  // A utility request goes to the model as the caller sent it: no core, operator or profile prompt.
  const profilePrompt = ctx.profile.systemPrompt && !ctx.utility ? [ctx.profile.systemPrompt] : [];
  return {
    messages: conversation.messages,
    systemPrompts: [...profilePrompt, ...ctx.parsed.systemPrompts],
    ...(ctx.utility ? { bare: true } : {}),
    platform: 'api',
    ...(ctx.profile.toolset ? { toolset: ctx.profile.toolset } : {}),
    model,
    clientTools: ctx.clientTools.tools,
    toolChoice: ctx.clientTools.toolChoice,
    parallelToolCalls: ctx.clientTools.parallelToolCalls,
    signal: ctx.signal,
  };
}

/**
 * A failed run as the ApiError for an open stream's error frame. An aborted run fails for why it was
 * aborted, whatever error it ended with (see `abortFailure`); typed upstream failures keep their status
 * (429, 502 `upstream_*`, 504…); anything else is a bug in Herald, not the upstream's fault: a 500
 * `internal_error` whose details go to the log, not to the client. Before a stream opens, routes throw
 * the original error instead, and the error handler maps and logs it the same way.
 */
function runFailure(ctx: RunContext, error: unknown): ApiError {
  if (ctx.signal.aborted) return abortFailure(ctx.signal);
  const failure = toApiError(error);
  noteErrorCode(ctx.request, failure.code);
  if (failure.status === 500 || failure.code === 'storage_full') {
    ctx.deps.logger.error(
      { event: 'api.run_failed', requestId: ctx.request.id, err: error },
      'agent run failed',
    );
  }
  return failure;
}

/**
 * Why an aborted run stopped: the client left or cancelled (499 `cancelled`), or the server cut it
 * while shutting down (503 `server_shutting_down`, the reason ActiveRuns.drain aborts with).
 */
function abortFailure(signal: AbortSignal): ApiError {
  return toApiError(signal.reason instanceof RunAbortedError ? signal.reason : new RunAbortedError());
}

/** The model ended the run without any text: the agent could not answer, nothing crashed. */
const emptyAnswer = () =>
  new ApiError(502, 'The agent finished without producing an answer.', { code: 'agent_incomplete' });

/** The agent's event stream ended without `done` or `error`: a broken contract, i.e. a bug (500). */
const noResult = () => new Error('The agent run ended without a result.');

async function completeOnce(ctx: RunContext, conversation: ResolvedConversation) {
  let text = '';
  let usage: Usage = zeroUsage();
  const reasoning = new ChatReasoning();
  const toolLines = ctx.deps.config.api_server.tool_progress === 'reasoning';
  for await (const event of ctx.deps.agent.run(agentInput(ctx, conversation))) {
    switch (event.type) {
      case 'text-delta':
        text += event.text;
        break;
      case 'reasoning-delta':
        reasoning.add(event);
        break;
      case 'usage':
        usage = event.total;
        break;
      case 'done': {
        usage = event.usage;
        noteUsage(ctx.request, usage);
        const content = text || event.text;
        const calls = event.clientToolCalls ?? [];
        if (!content && calls.length === 0) throw emptyAnswer();
        await saveTranscript(ctx, conversation, event, content);
        return completionBody(
          ctx.identity,
          content || null,
          event.finishReason,
          usage,
          calls,
          reasoning.text,
        );
      }
      case 'error':
        noteUsage(ctx.request, event.usage);
        // The error handler maps it (upstream failures keep their status, a bug is a 500) and logs it.
        throw event.error;
      case 'tool-call-start':
      case 'tool-call-end':
        if (toolLines) reasoning.add(event);
        break;
      case 'approval-requested':
      case 'approval-resolved':
        break;
      default:
        assertNever(event);
    }
  }
  throw noResult();
}

async function saveTranscript(
  ctx: RunContext,
  conversation: ResolvedConversation,
  done: Extract<AgentEvent, { type: 'done' }>,
  shownReply: string,
): Promise<void> {
  // A background request is not a turn of the chat it is about.
  if (ctx.utility) return;
  await ctx.sessions.save({
    sessionId: conversation.sessionId,
    scope: ctx.scope,
    visibleBefore: conversation.visibleBefore,
    input: conversation.messages,
    appended: done.messages,
    shownReply,
    clientToolCalls: done.clientToolCalls ?? [],
    compaction: done.compaction,
  });
}

function openLazily(ctx: RunContext, reply: FastifyReply): { sse: LazySse; chunks: ChunkBuilder } {
  const heartbeatMs = ctx.deps.config.api_server.heartbeat_s * 1000;
  const chunks = new ChunkBuilder(ctx.identity, ctx.parsed.includeUsage);
  const sse = new LazySse(reply, {
    heartbeatMs,
    openAfterMs: Math.min(1_000, heartbeatMs),
    onOpen: (writer) => writer.send(chunks.role()),
  });
  return { sse, chunks };
}

/**
 * Streams the run as chunks. The SSE response opens at the first agent event (or after a short wait, so
 * heartbeats can flow while queued), which lets a run that fails before producing anything — e.g. no
 * upstream configured — answer with a proper HTTP error status instead of a 200 stream. The caller
 * disposes `lazy` and answers what this throws before the stream opens.
 */
async function streamCompletion(
  ctx: RunContext,
  conversation: ResolvedConversation,
  lazy: LazySse,
  chunks: ChunkBuilder,
): Promise<void> {
  const api = ctx.deps.config.api_server;
  const open = () => lazy.open();
  let shown = '';
  const write = async (text: string) => {
    shown += text;
    await (await open()).send(chunks.content(text));
  };
  const reasoning = new ChatReasoning();
  const think = async (piece: string) => {
    if (piece) await (await open()).send(chunks.reasoning(piece));
  };
  const showTool = async (event: ToolCallEvent) => {
    switch (api.tool_progress) {
      case 'reasoning':
        return think(reasoning.add(event));
      case 'events':
        return (await open()).send(chunks.toolProgress(event), 'herald.tool.progress');
      case 'inline':
        if (event.type === 'tool-call-start') await write(`${paragraphBreak(shown)}> ⚙ ${event.label}\n\n`);
        return;
      case 'off':
        return;
    }
  };
  for await (const event of ctx.deps.agent.run(agentInput(ctx, conversation))) {
    switch (event.type) {
      case 'text-delta':
        if (event.text) await write(event.text);
        break;
      case 'reasoning-delta':
        await think(reasoning.add(event));
        break;
      case 'tool-call-start':
      case 'tool-call-end':
        await showTool(event);
        break;
      case 'usage':
      // Chat Completions has no way to answer: the agent is run without an asker.
      case 'approval-requested':
      case 'approval-resolved':
        break;
      case 'done': {
        noteUsage(ctx.request, event.usage);
        if (!shown && event.text) await write(event.text);
        const calls = event.clientToolCalls ?? [];
        if (!shown && calls.length === 0) {
          // An empty answer is a failure, never an empty success.
          if (!lazy.opened) throw emptyAnswer();
          await endWithError(ctx, await open(), chunks, emptyAnswer());
          return;
        }
        await saveTranscript(ctx, conversation, event, shown);
        const stream = await open();
        for (const frame of chunks.toolCalls(calls)) await stream.send(frame);
        await stream.send(chunks.finish(event.finishReason));
        if (ctx.parsed.includeUsage) await stream.send(chunks.usage(event.usage));
        await stream.send('[DONE]');
        stream.end();
        return;
      }
      case 'error': {
        noteUsage(ctx.request, event.usage);
        const sse = lazy.opened;
        // Not streaming yet: the error handler answers with a plain HTTP status and logs a bug.
        if (!sse) throw event.error;
        if (sse.closed) {
          // Nobody is listening (client gone): end quietly.
          sse.end();
          return;
        }
        const failure = runFailure(ctx, event.error);
        ctx.deps.logger.warn(
          {
            event: 'api.stream_failed',
            requestId: ctx.request.id,
            code: failure.code,
            status: failure.status,
          },
          'stream ended with an error',
        );
        // `open()` resolves once the first frame (the role chunk) is out, so the error frame follows it.
        await endWithError(ctx, await open(), chunks, failure);
        return;
      }
      default:
        assertNever(event);
    }
  }
  // The agent's stream ended without done/error: a broken contract, never a silent success.
  if (!lazy.opened) throw noResult();
  await endWithError(ctx, await open(), chunks, runFailure(ctx, noResult()));
}

/**
 * Ends an open stream that failed. The error frame is what the official SDK raises as an APIError, but
 * most chat frontends drop a frame without `choices` and would show an empty or cut-off reply; so by
 * default (`api_server.stream_errors: content_and_error`) the error first goes out as visible text in an
 * ordinary content delta, finished with `stop`, then the frame, then the end marker.
 */
async function endWithError(
  ctx: RunContext,
  stream: SseWriter,
  chunks: ChunkBuilder,
  failure: ApiError,
): Promise<void> {
  if (ctx.deps.config.api_server.stream_errors === 'content_and_error') {
    await stream.send(chunks.content(`\n\n⚠️ Error: ${failure.message}`));
    await stream.send(chunks.finish('stop'));
  }
  await stream.send(failure.toBody());
  await stream.send('[DONE]');
  stream.end();
}

function assertNever(value: never): never {
  throw new Error(`Unhandled agent event: ${JSON.stringify(value)}`);
}
