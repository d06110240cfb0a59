/**
 * The Conversations API (`/v1/conversations`): create, retrieve, update and delete conversation
 * objects, and add, list, retrieve and delete their items, in the shapes openai-node's
 * `client.conversations.*` expects; plus `GET /v1/conversations`, the caller's conversations newest
 * first (Herald's own: OpenAI has no listing; the web chat's sidebar uses it). Also resolves a
 * `conversation` parameter of `POST /v1/responses`: a `conv_…` id, or a name like `"work"` that Herald
 * creates on first use. Turns themselves append their items in responses-routes.ts; this file never
 * runs the agent.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ItemPage, ResponseStore, StoredConversation } from '../../../store/index.ts';
import { callerOf } from './api-caller.ts';
import { ApiError } from './errors.ts';
import { normalizeInputItems } from './responses-input.ts';
import {
  addConversationItemsSchema,
  createConversationSchema,
  listConversationsQuerySchema,
  listItemsQuerySchema,
  parseOrThrow,
  updateConversationSchema,
} from './responses-request.ts';
import { API_PREFIXES } from './route-deps.ts';

function notFound(id: string, param: string | null = null): ApiError {
  return new ApiError(404, `Conversation with id '${id}' not found.`, {
    type: 'invalid_request_error',
    param,
    code: 'conversation_not_found',
  });
}

function itemNotFound(itemId: string): ApiError {
  return new ApiError(404, `Item with id '${itemId}' not found.`, {
    type: 'invalid_request_error',
    code: 'item_not_found',
  });
}

/**
 * `conv_…` must exist and be `owner`'s (another's answers as missing); any other string names one of
 * `owner`'s conversations, created the first time it is used.
 */
export async function resolveConversation(
  store: ResponseStore,
  ref: string,
  owner: string,
): Promise<StoredConversation> {
  if (!ref.startsWith('conv_')) return store.conversationByName(ref, owner);
  const found = await store.getConversation(ref);
  if (found?.owner !== owner) throw notFound(ref, 'conversation');
  return found;
}

/** An item page in the OpenAI list shape; conversation items and response input items share it. */
export function itemListBody(page: ItemPage): Record<string, unknown> {
  return {
    object: 'list',
    data: page.data,
    first_id: page.firstId,
    last_id: page.lastId,
    has_more: page.hasMore,
  };
}

function toWire(conversation: StoredConversation): Record<string, unknown> {
  return {
    id: conversation.id,
    object: 'conversation',
    created_at: conversation.createdAt,
    metadata: conversation.metadata,
  };
}

export function registerConversationsRoutes(
  app: FastifyInstance,
  deps: { responseStore: ResponseStore },
): void {
  const store = deps.responseStore;
  type IdParams = { Params: { id: string } };
  type ItemParams = { Params: { id: string; itemId: string } };

  /** The caller's conversation; another key's answers exactly like a missing one. */
  const existing = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const found = await store.getConversation(request.params.id);
    if (found?.owner !== callerOf(request).owner) throw notFound(request.params.id);
    return found;
  };

  for (const prefix of API_PREFIXES) {
    const base = `${prefix}/conversations`;

    app.post(base, async (request) => {
      const body = parseOrThrow(createConversationSchema, request.body);
      const { owner } = callerOf(request);
      const items = body.items ? await normalizeInputItems(body.items, store, owner) : [];
      return toWire(await store.createConversation({ owner, metadata: body.metadata ?? {}, items }));
    });

    app.get(base, async (request) => {
      const { limit } = parseOrThrow(listConversationsQuerySchema, request.query);
      // One extra row says whether there are more, without a count query.
      const found = await store.listConversations(callerOf(request).owner, limit + 1);
      const data = found.slice(0, limit).map(toWire);
      return {
        object: 'list',
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: found.length > limit,
      };
    });

    app.get<IdParams>(`${base}/:id`, async (request) => toWire(await existing(request)));

    app.post<IdParams>(`${base}/:id`, async (request) => {
      const body = parseOrThrow(updateConversationSchema, request.body);
      await existing(request);
      const updated = await store.updateConversation(request.params.id, body.metadata);
      if (!updated) throw notFound(request.params.id);
      return toWire(updated);
    });

    app.delete<IdParams>(`${base}/:id`, async (request) => {
      await existing(request);
      if (!(await store.deleteConversation(request.params.id))) throw notFound(request.params.id);
      return { id: request.params.id, object: 'conversation.deleted', deleted: true };
    });

    app.post<IdParams>(`${base}/:id/items`, async (request) => {
      await existing(request);
      const body = parseOrThrow(addConversationItemsSchema, request.body);
      const items = await normalizeInputItems(body.items, store, callerOf(request).owner);
      await store.appendConversationItems(request.params.id, items);
      return itemListBody({
        data: items,
        firstId: items[0]?.id ?? null,
        lastId: items.at(-1)?.id ?? null,
        hasMore: false,
      });
    });

    app.get<IdParams>(`${base}/:id/items`, async (request) => {
      const query = parseOrThrow(listItemsQuerySchema, request.query);
      await existing(request);
      const page = await store.listConversationItems(request.params.id, query);
      if (!page) throw notFound(request.params.id);
      return itemListBody(page);
    });

    app.get<ItemParams>(`${base}/:id/items/:itemId`, async (request) => {
      await existing(request);
      const item = await store.getConversationItem(request.params.id, request.params.itemId);
      if (!item) throw itemNotFound(request.params.itemId);
      return item;
    });

    app.delete<ItemParams>(`${base}/:id/items/:itemId`, async (request) => {
      const conversation = await existing(request);
      if (!(await store.deleteConversationItem(conversation.id, request.params.itemId))) {
        throw itemNotFound(request.params.itemId);
      }
      return toWire(conversation);
    });
  }
}
