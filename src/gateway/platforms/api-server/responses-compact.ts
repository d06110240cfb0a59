/**
 * Compaction on the Responses API. `POST /v1/responses/compact` (Open Responses' compactResponse)
 * summarises a conversation window (`input` items, after `previous_response_id`'s chain when given)
 * with the profile's upstream model and answers a `response.compaction` object whose `output` is one
 * `compaction` item (its `encrypted_content` is Herald's summary text, opaque to clients) followed by
 * the last turn verbatim; sent back as input, the compaction item stands for everything before it
 * (responses-input.ts). It stores nothing: compaction is functional. `saveRunCompaction` persists a
 * turn's automatic compaction for its chain or conversation. The agent's compactor decides what to
 * summarise; this file only validates, resolves and shapes.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  type AgentEndEvent,
  type Compaction,
  compactedConversation,
  summaryOf,
} from '../../../agent/index.ts';
import { type ChatMessage, RunAbortedError } from '../../../model/index.ts';
import { type CompactedContext, newId, type ResponseItem, type ResponseStore } from '../../../store/index.ts';
import { callerOf } from './api-caller.ts';
import { ApiError } from './errors.ts';
import { type AgentContext, itemsToAgentContext, normalizeInputItems } from './responses-input.ts';
import { parseOrThrow } from './responses-request.ts';
import type { ResponsesRouteDeps } from './responses-routes.ts';
import { toResponseUsage } from './responses-stream.ts';
import { API_PREFIXES } from './route-deps.ts';

const compactRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.looseObject({}))]).nullish(),
  previous_response_id: z.string().min(1).nullish(),
  // Accepted as the spec allows; instructions are never carried into a compacted window.
  instructions: z.string().nullish(),
});

export function registerResponsesCompactRoute(app: FastifyInstance, deps: ResponsesRouteDeps): void {
  for (const prefix of API_PREFIXES) {
    app.post(`${prefix}/responses/compact`, async (request, reply) => {
      const body = request.body as Record<string, unknown> | null | undefined;
      if (typeof body?.['model'] !== 'string' || body['model'] === '') {
        throw new ApiError(400, "Missing required parameter: 'model'.", {
          param: 'model',
          code: 'missing_required_parameter',
        });
      }
      const parsed = parseOrThrow(compactRequestSchema, body);
      const caller = callerOf(request);
      const profile = deps.profiles.resolve(parsed.model, caller.profiles);
      const context = await windowToCompact(parsed, deps.responseStore, caller.owner);

      const compact = deps.agent.compact?.bind(deps.agent);
      if (!compact) {
        throw new ApiError(501, 'This server cannot compact conversations.', { code: 'unsupported' });
      }
      // A model call like any run: bounded by the run limiter, cancelled when the client leaves or the
      // server shuts down.
      const clientGone = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) clientGone.abort(new RunAbortedError('The client disconnected.'));
      });
      const releaseSlot = await deps.limiter.acquire(clientGone.signal);
      const run = deps.runs.register(clientGone.signal);
      let compaction: Compaction | undefined;
      try {
        compaction = await compact({
          messages: context.messages,
          ...(profile.upstreamModel ? { model: profile.upstreamModel } : {}),
          signal: run.signal,
        });
      } finally {
        run.release();
        releaseSlot();
      }
      const output = compaction
        ? [
            { id: newId('cmp'), type: 'compaction', encrypted_content: compaction.summary },
            ...messagesToItems(compaction.messages.slice(1)),
          ]
        : messagesToItems(context.messages);
      return {
        id: newId('resp'),
        object: 'response.compaction',
        created_at: Math.floor(Date.now() / 1000),
        output,
        usage: toResponseUsage(
          compaction?.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0, estimated: false },
        ),
      };
    });
  }
}

/** The window a compact request names: `previous_response_id`'s chain (compacted as stored), then `input`. */
async function windowToCompact(
  body: z.infer<typeof compactRequestSchema>,
  store: ResponseStore,
  owner: string,
): Promise<AgentContext> {
  // Another key's response answers exactly like a missing one.
  const previous = body.previous_response_id ? await store.get(body.previous_response_id) : undefined;
  const history =
    previous?.owner === owner && body.previous_response_id
      ? await store.chainHistory(body.previous_response_id)
      : undefined;
  if (body.previous_response_id && !history) {
    throw new ApiError(404, `Previous response with id '${body.previous_response_id}' not found.`, {
      type: 'invalid_request_error',
      param: 'previous_response_id',
      code: 'previous_response_not_found',
    });
  }
  const input = body.input == null ? [] : await normalizeInputItems(body.input, store, owner);
  if (!history && input.length === 0) {
    throw new ApiError(400, "Missing required parameter: 'input'.", {
      param: 'input',
      code: 'missing_required_parameter',
    });
  }
  return itemsToAgentContext([...(history?.items ?? []), ...input], history?.compacted);
}

/**
 * Kept messages as input items, which `itemsToAgentContext` turns back into the same messages. A
 * summary message (from an earlier compaction) goes back as the compaction item it came from.
 */
function messagesToItems(messages: ChatMessage[]): ResponseItem[] {
  return messages.flatMap((message): ResponseItem[] => {
    const summary = summaryOf(message);
    if (summary !== undefined) return [{ id: newId('cmp'), type: 'compaction', encrypted_content: summary }];
    switch (message.role) {
      case 'system':
        return [textMessage('system', message.content)];
      case 'user':
        if (typeof message.content === 'string') return [textMessage('user', message.content)];
        return [
          {
            id: newId('msg'),
            type: 'message',
            role: 'user',
            status: 'completed',
            content: message.content.map((part) =>
              part.type === 'text'
                ? { type: 'input_text', text: part.text }
                : {
                    type: 'input_image',
                    image_url: part.image_url.url,
                    detail: part.image_url.detail ?? 'auto',
                  },
            ),
          },
        ];
      case 'assistant':
        return [
          ...(message.content ? [textMessage('assistant', message.content)] : []),
          ...(message.toolCalls ?? []).map((call) => ({
            id: newId('fc'),
            type: 'function_call',
            call_id: call.id,
            name: call.name,
            arguments: call.arguments,
            status: 'completed',
          })),
        ];
      case 'tool':
        return [
          {
            id: newId('fco'),
            type: 'function_call_output',
            call_id: message.toolCallId,
            output: message.content,
            status: 'completed',
          },
        ];
      default: {
        const unreachable: never = message;
        return unreachable;
      }
    }
  });
}

function textMessage(role: 'system' | 'user' | 'assistant', text: string): ResponseItem {
  return {
    id: newId('msg'),
    type: 'message',
    role,
    status: 'completed',
    content: [
      role === 'assistant' ? { type: 'output_text', text, annotations: [] } : { type: 'input_text', text },
    ],
  };
}

/**
 * Persists a turn's automatic compaction: the conversation it ran on (`context`) plus what it appended,
 * compacted, so the next turn of the chain or conversation loads the summary instead of recomputing it.
 */
export async function saveRunCompaction(
  store: ResponseStore,
  target: { responseId: string } | { conversationId: string },
  context: AgentContext,
  end: AgentEndEvent,
): Promise<void> {
  if (!end.compaction) return;
  const compacted: CompactedContext = {
    messages: compactedConversation([...context.messages, ...end.messages], end.compaction),
    systemPrompts: context.systemPrompts,
  };
  await store.saveCompaction(target, compacted);
}
