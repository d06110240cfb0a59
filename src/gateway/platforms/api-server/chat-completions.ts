/**
 * `POST /v1/chat/completions` (and `/chat/completions`): validates the request, picks the agent profile,
 * takes a run slot, finds the session transcript, runs the agent in the session's queue slot and renders
 * its events as one `chat.completion` body or as an SSE stream of chunks (with `herald.tool.progress`
 * events, heartbeats, and an error frame on mid-stream failure). Client disconnect and shutdown abort the
 * run through its AbortSignal. The agent's own tools show only as progress events; the client's function
 * tools (`tools`) are offered beside them, and a call to one ends the answer with `tool_calls`.
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
import { ChatSessions, type ResolvedConversation, SESSION_HEADER, sessionScope } from './chat-sessions.ts';
import { type ClientTools, parseClientTools } from './client-tools.ts';
import { ApiError, toApiError } from './errors.ts';
import type { AgentProfile } from './profiles.ts';
import { noteUsage } from './request-log.ts';
import { API_PREFIXES, type ApiRouteDeps } from './route-deps.ts';
import { LazySse } from './sse-reply.ts';
import type { SseWriter } from './sse-writer.ts';

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
    const scope = sessionScope({
      owner: caller.owner,
      profileId: profile.id,
      systemPrompts: parsed.systemPrompts,
      endUser: parsed.endUser,
    });
    const headerValue = request.headers[SESSION_HEADER];
    const headerSessionId =
      typeof headerValue === 'string' && sessionIdPattern.test(headerValue) ? headerValue : undefined;
    const sessionId = await sessions.sessionIdFor({ headerSessionId, scope, messages: parsed.messages });
    reply.header(SESSION_HEADER, sessionId);
    const ctx: RunContext = {
      deps,
      sessions,
      parsed,
      clientTools,
      profile,
      scope,
      identity: newCompletionIdentity(parsed.model ?? profile.id),
      signal: run.signal,
      request,
    };
    const viaHeader = sessionId === headerSessionId;
    // Streams open before the queue slot so a request waiting behind another run gets heartbeats.
    stream = parsed.stream ? openLazily(ctx, reply) : undefined;
    return await deps.queue.run(sessionId, async () => {
      try {
        // The client may have left (or the server begun shutting down) while this request waited.
        if (ctx.signal.aborted) throw abortFailure(ctx.signal);
        const conversation = await sessions.resolve({
          sessionId,
          viaHeader,
          scope,
          messages: parsed.messages,
        });
        if (stream) {
          await streamCompletion(ctx, conversation, stream.sse, stream.chunks);
          return reply;
        }
        return await completeOnce(ctx, conversation);
      } catch (error) {
        // Once a stream is open the error handler cannot answer (the reply is hijacked): end it here.
        // Before that, the handler answers (and logs a bug with its stack); an aborted run fails for
        // why it was aborted, whatever error it ended with, so the code below throws errors unmapped.
        const sse = stream?.sse.opened;
        if (!sse) throw ctx.signal.aborted ? abortFailure(ctx.signal) : error;
        if (sse.closed) sse.end();
        else await endWithError(sse, runFailure(ctx, error));
        return reply;
      }
    });
  } finally {
    stream?.sse.dispose();
    run?.release();
    releaseSlot();
  }
}

function agentInput(ctx: RunContext, conversation: ResolvedConversation): AgentInput {
  const model: NonNullable<AgentInput['model']> = { ...ctx.parsed.sampling };
  if (ctx.profile.upstreamModel) model.id = ctx.profile.upstreamModel;
  return {
    messages: conversation.messages,
    systemPrompts: [
      ...(ctx.profile.systemPrompt ? [ctx.profile.systemPrompt] : []),
      ...ctx.parsed.systemPrompts,
    ],
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
  for await (const event of ctx.deps.agent.run(agentInput(ctx, conversation))) {
    switch (event.type) {
      case 'text-delta':
        text += event.text;
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
        return completionBody(ctx.identity, content || null, event.finishReason, usage, calls);
      }
      case 'error':
        noteUsage(ctx.request, event.usage);
        // The error handler maps it (upstream failures keep their status, a bug is a 500) and logs it.
        throw event.error;
      case 'tool-call-start':
      case 'tool-call-end':
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
  const progress = async (event: ToolCallEvent) => {
    await (await open()).send(chunks.toolProgress(event), 'herald.tool.progress');
  };
  for await (const event of ctx.deps.agent.run(agentInput(ctx, conversation))) {
    switch (event.type) {
      case 'text-delta':
        if (event.text) await write(event.text);
        break;
      case 'tool-call-start':
        if (api.tool_progress === 'events') {
          await progress(event);
        } else if (api.tool_progress === 'inline') {
          const lead = shown === '' || shown.endsWith('\n\n') ? '' : shown.endsWith('\n') ? '\n' : '\n\n';
          await write(`${lead}> ⚙ ${event.label}\n\n`);
        }
        break;
      case 'tool-call-end':
        if (api.tool_progress === 'events') await progress(event);
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
          await endWithError(await open(), emptyAnswer());
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
        await endWithError(await open(), failure);
        return;
      }
      default:
        assertNever(event);
    }
  }
  // The agent's stream ended without done/error: a broken contract, never a silent success.
  if (!lazy.opened) throw noResult();
  await endWithError(await open(), runFailure(ctx, noResult()));
}

/** The mid-stream failure frame the official SDK raises as an APIError, then the end marker. */
async function endWithError(stream: SseWriter, failure: ApiError): Promise<void> {
  await stream.send(failure.toBody());
  await stream.send('[DONE]');
  stream.end();
}

function assertNever(value: never): never {
  throw new Error(`Unhandled agent event: ${JSON.stringify(value)}`);
}
