/**
 * The runs API: `POST /v1/runs` starts an agent run in the background (202), `GET /v1/runs/{id}` tells
 * its status, `GET /v1/runs/{id}/events` streams its typed events as SSE with `id:`s (replayed from the
 * store after `Last-Event-ID` or `?after=`, then live), and `POST …/approval`, `…/stop` and `…/steer`
 * answer approval requests, stop the run and guide it. A run is a Responses turn underneath (same
 * validation, history, per-conversation queue, run slots; its Response is stored, so a later turn can
 * chain on it) with a client that can answer approvals. Runs belong to the key that created them;
 * anyone else gets 404. Event mapping and run state live in live-run.ts.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { finalRunStatuses, newId, type RunStore, type StoredRun } from '../../../store/index.ts';
import { callerOf } from './api-caller.ts';
import { ApiError, toApiError } from './errors.ts';
import { LiveRun, type RunEnd } from './live-run.ts';
import { parseOrThrow } from './responses-request.ts';
import type { ResponsesRouteDeps, SharedResponseTurns, TurnResult } from './responses-routes.ts';
import { API_PREFIXES } from './route-deps.ts';
import { openSse } from './sse-reply.ts';

export type RunsRouteDeps = ResponsesRouteDeps & { runStore: RunStore };

/** How often a run executing on another replica is checked for new events while its stream is followed. */
const FOLLOW_POLL_MS = 200;

/** Conversations whose `session` approvals are remembered; the oldest is forgotten past this. */
const MAX_APPROVAL_SESSIONS = 1_000;

const createRunSchema = z
  .object({
    input: z.union([z.string(), z.array(z.unknown())]),
    conversation: z.union([z.string(), z.object({ id: z.string() })]).optional(),
    previous_response_id: z.string().optional(),
    instructions: z.string().optional(),
    model: z.string().optional(),
    metadata: z.record(z.string(), z.string()).optional(),
  })
  .strict();

const approvalSchema = z
  .object({
    request_id: z.string().min(1),
    decision: z.enum(['once', 'session', 'always', 'deny']),
  })
  .strict();

const steerSchema = z.object({ text: z.string().min(1) }).strict();

export function registerRunsRoutes(
  app: FastifyInstance,
  deps: RunsRouteDeps,
  turns: SharedResponseTurns,
): void {
  const { runStore } = deps;
  const live = new Map<string, LiveRun>();
  const approvalSessions = new Map<string, Set<string>>();

  const notFound = (id: string) =>
    new ApiError(404, `Run with id '${id}' not found.`, {
      type: 'invalid_request_error',
      param: 'run_id',
      code: 'run_not_found',
    });
  const notActive = (run: StoredRun) =>
    new ApiError(409, `Run '${run.id}' has ended (status '${run.status}').`, {
      type: 'invalid_request_error',
      param: 'run_id',
      code: 'run_not_active',
    });

  type IdRequest = FastifyRequest<{ Params: { id: string } }>;
  // Another key's run answers exactly like a missing one.
  const ownRun = async (request: IdRequest): Promise<StoredRun> => {
    const run = await runStore.get(request.params.id);
    if (run?.owner !== callerOf(request).owner) throw notFound(request.params.id);
    return run;
  };
  /**
   * Hands an action on a run that is not live here to the replica running it (a shared store); its
   * answer, or 409 when no replica runs it.
   */
  const remote = async (run: StoredRun, action: string, payload?: Record<string, unknown>) => {
    const sent =
      deps.control && !finalRunStatuses.has(run.status)
        ? await deps.control.send({ kind: 'run', id: run.id }, action, payload)
        : undefined;
    if (sent?.answer == null) throw notActive((await runStore.get(run.id)) ?? run);
    return sent.answer as Record<string, unknown>;
  };
  const stopped = async (run: LiveRun): Promise<void> => {
    const ended = new Promise<void>((resolve) => {
      const unsubscribe = run.subscribe((event) => {
        if (!isEnding(event.type)) return;
        unsubscribe();
        resolve();
      });
    });
    run.stop();
    await ended;
  };
  const sessionFor = (key: string): Set<string> => {
    let session = approvalSessions.get(key);
    if (session) approvalSessions.delete(key);
    else session = new Set();
    approvalSessions.set(key, session);
    if (approvalSessions.size > MAX_APPROVAL_SESSIONS) {
      approvalSessions.delete(approvalSessions.keys().next().value as string);
    }
    return session;
  };

  const start = async (request: FastifyRequest): Promise<StoredRun> => {
    const body = parseOrThrow(createRunSchema, request.body);
    const caller = callerOf(request);
    const turn = await turns.prepare({ ...body, store: true }, deps.responseStore, caller);
    const stored: StoredRun = {
      id: newId('run'),
      owner: caller.owner,
      status: 'queued',
      createdAt: turn.settings.createdAt,
      model: turn.settings.model,
      responseId: turn.settings.id,
      usage: null,
      outputText: null,
      error: null,
    };
    await runStore.create(stored);
    const run = new LiveRun(stored, {
      store: runStore,
      approvalSession: sessionFor(turn.queueKey),
      logger: deps.logger,
    });
    live.set(run.id, run);
    turn.hooks = {
      approve: run.approve,
      approvalSession: run.approvalSession,
      steering: run.steering,
      started: () => run.started(),
      observe: (event) => run.observe(event),
    };
    deps.logger.info({ event: 'runs.created', runId: run.id, responseId: stored.responseId }, 'run created');
    void turns
      .run(turn, { open: () => undefined, clientGone: run.stopSignal })
      .then(endOf, (error: unknown) =>
        run.stopSignal.aborted ? stoppedBeforeStart : failedBeforeStart(error),
      )
      .then((end) => run.end(end))
      .catch((err: unknown) =>
        deps.logger.error({ event: 'runs.end_failed', runId: run.id, err }, 'run end not stored'),
      )
      .finally(() => live.delete(run.id));
    return stored;
  };

  const body = (run: StoredRun) => {
    const running = live.get(run.id);
    return {
      object: 'run',
      run_id: run.id,
      status: running?.status ?? run.status,
      created_at: run.createdAt,
      model: run.model,
      response_id: run.responseId,
      usage: run.usage,
      output_text: run.outputText,
      error: run.error,
      pending_approvals: (running?.pendingApprovals ?? []).map((pending) => ({
        request_id: pending.id,
        tool: pending.tool,
        arguments: pending.arguments,
        reason: pending.reason,
      })),
    };
  };

  // Actions sent by other replicas for the runs executing here.
  deps.control?.serve('run', async ({ target, action, payload }) => {
    const run = live.get(target.id);
    if (!run) return null;
    const described = async () => {
      const stored = await runStore.get(run.id);
      return stored ? { body: body(stored) } : null;
    };
    switch (action) {
      case 'approval': {
        const answer = parseOrThrow(approvalSchema, payload);
        return { answered: run.answer(answer.request_id, answer.decision) };
      }
      case 'steer':
        run.steer(parseOrThrow(steerSchema, payload).text);
        return { status: run.status };
      case 'stop':
        await stopped(run);
        return described();
      case 'describe':
        return described();
      default:
        return null;
    }
  });

  for (const prefix of API_PREFIXES) {
    app.post(`${prefix}/runs`, async (request, reply) => {
      const run = await start(request);
      return reply.code(202).send(body(run));
    });

    app.get<{ Params: { id: string } }>(`${prefix}/runs/:id`, async (request) => {
      const run = await ownRun(request);
      // Its pending approvals live with the replica running it.
      if (run.status === 'waiting_for_approval' && !live.has(run.id) && deps.control) {
        const described = await deps.control.send({ kind: 'run', id: run.id }, 'describe');
        const remoteBody = (described?.answer as { body?: unknown } | null | undefined)?.body;
        if (remoteBody) return remoteBody;
      }
      return body(run);
    });

    app.post<{ Params: { id: string } }>(`${prefix}/runs/:id/approval`, async (request) => {
      const answer = parseOrThrow(approvalSchema, request.body);
      const run = await ownRun(request);
      const local = live.get(run.id);
      const answered = local
        ? local.answer(answer.request_id, answer.decision)
        : (await remote(run, 'approval', answer))['answered'] === true;
      if (!answered) {
        throw new ApiError(
          409,
          `Approval request '${answer.request_id}' is not waiting for an answer (already answered, timed out, or unknown).`,
          { type: 'invalid_request_error', param: 'request_id', code: 'approval_not_pending' },
        );
      }
      deps.logger.info(
        {
          event: 'runs.approval_answered',
          runId: run.id,
          requestId: answer.request_id,
          decision: answer.decision,
        },
        'approval answered',
      );
      return {
        object: 'run.approval',
        run_id: run.id,
        request_id: answer.request_id,
        decision: answer.decision,
      };
    });

    app.post<{ Params: { id: string } }>(`${prefix}/runs/:id/stop`, async (request) => {
      const run = await ownRun(request);
      const local = live.get(run.id);
      if (!local) return (await remote(run, 'stop'))['body'];
      await stopped(local);
      return body(await ownRun(request));
    });

    app.post<{ Params: { id: string } }>(`${prefix}/runs/:id/steer`, async (request) => {
      const { text } = parseOrThrow(steerSchema, request.body);
      const run = await ownRun(request);
      const local = live.get(run.id);
      if (!local)
        return {
          object: 'run.steer',
          run_id: run.id,
          status: (await remote(run, 'steer', { text }))['status'],
        };
      local.steer(text);
      return { object: 'run.steer', run_id: run.id, status: local.status };
    });

    app.get<{ Params: { id: string }; Querystring: { after?: string } }>(
      `${prefix}/runs/:id/events`,
      async (request, reply) => {
        const run = await ownRun(request);
        const after = afterOf(request.headers['last-event-id'], request.query.after);
        const running = live.get(run.id);
        const sse = openSse(reply, deps.config.api_server.heartbeat_s * 1000);
        // Events recorded while the stored ones are replayed wait here, so none is lost or sent twice.
        let last = after;
        let ended = false;
        let tail = Promise.resolve();
        let finish!: () => void;
        const finished = new Promise<void>((resolve) => {
          finish = resolve;
        });
        const send = (event: { seq: number; type: string; data: Record<string, unknown> }) => {
          tail = tail.then(async () => {
            if (ended || event.seq <= last) return;
            last = event.seq;
            await sse.send({ type: event.type, ...event.data }, event.type, String(event.seq));
            if (isEnding(event.type)) {
              ended = true;
              finish();
            }
          });
        };
        const buffered: Parameters<typeof send>[0][] = [];
        let replaying = true;
        const unsubscribe = running?.subscribe((event) => (replaying ? buffered.push(event) : send(event)));
        sse.disconnected.addEventListener('abort', () => finish(), { once: true });
        try {
          for (const event of await runStore.events(run.id, after)) send(event);
          replaying = false;
          for (const event of buffered) send(event);
          await tail;
          if (running && !ended && live.has(run.id)) await finished;
          // Running on another replica (a shared store): follow its stored events until the ending one.
          else if (!running && deps.control && !finalRunStatuses.has(run.status)) {
            while (!ended && !sse.disconnected.aborted) {
              await sleep(FOLLOW_POLL_MS, sse.disconnected);
              for (const event of await runStore.events(run.id, last)) send(event);
              await tail;
            }
          }
          await tail;
        } finally {
          unsubscribe?.();
          sse.end();
        }
        return reply;
      },
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

function isEnding(type: string): boolean {
  return (
    type === 'run.completed' ||
    type === 'run.failed' ||
    type === 'run.cancelled' ||
    type === 'run.interrupted'
  );
}

function afterOf(header: string | string[] | undefined, query: string | undefined): number {
  const raw = (Array.isArray(header) ? header[0] : header) ?? query ?? '0';
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ApiError(400, `Invalid event id '${raw}': expected the id of an event of this run.`, {
      param: 'after',
      code: 'invalid_event_id',
    });
  }
  return value;
}

/** How the Responses turn ended, as the run's final status. */
function endOf(result: TurnResult): RunEnd {
  const { finished } = result;
  const error = (finished.body['error'] as RunEnd['error'] | undefined) ?? null;
  const reason = (finished.body['incomplete_details'] as { reason?: string } | null | undefined)?.reason;
  const status =
    finished.status === 'failed'
      ? 'failed'
      : finished.status === 'cancelled'
        ? 'cancelled'
        : finished.status === 'incomplete' && reason === 'interrupted'
          ? 'interrupted'
          : 'completed';
  return { status, usage: result.usage, error };
}

const stoppedBeforeStart: RunEnd = { status: 'cancelled', usage: null, error: null };

/** A run refused before it started (no slot, server stopping) or whose store failed. */
function failedBeforeStart(error: unknown): RunEnd {
  const apiError = toApiError(error);
  return {
    status: 'failed',
    usage: null,
    error: { code: apiError.code ?? 'server_error', message: apiError.message },
  };
}
