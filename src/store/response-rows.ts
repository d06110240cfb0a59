/**
 * Row mapping shared by the SQLite and PostgreSQL response stores: JSON item columns to items, a
 * conversation row to its object, an item page, and how recovery closes an item cut off mid-run. Both
 * stores must answer alike, so these live once; SQL does not belong here.
 */
import type { ItemPage, ItemPageQuery, ResponseItem, StoredConversation } from './types.ts';

export interface ConversationRow {
  id: string;
  owner: string;
  name: string | null;
  metadata: string;
  created_at: number;
}

/** An output item cut off mid-run (a message being written, a tool call without its result) ends `incomplete`. */
export function closeItem<T>(item: T): T {
  const open =
    typeof item === 'object' && item !== null && (item as { status?: unknown }).status === 'in_progress';
  return open ? { ...item, status: 'incomplete' } : item;
}

/** A response body as recovery leaves it: `incomplete` (interrupted), its open output items closed. */
export function interruptedBody(body: Record<string, unknown>): Record<string, unknown> {
  const closed: Record<string, unknown> = {
    ...body,
    status: 'incomplete',
    incomplete_details: { reason: 'interrupted' },
  };
  if (Array.isArray(body['output'])) closed['output'] = body['output'].map(closeItem);
  return closed;
}

export function parseItem(json: string): ResponseItem {
  return JSON.parse(json) as ResponseItem;
}

export function toConversation(row: ConversationRow): StoredConversation {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    owner: row.owner,
  };
}

export function toPage(data: ResponseItem[], hasMore: boolean): ItemPage {
  return { data, firstId: data[0]?.id ?? null, lastId: data.at(-1)?.id ?? null, hasMore };
}

/**
 * One page of a response's input items, from all of them in the requested order: the page after the
 * `after` item (an unknown cursor gives an empty page rather than restarting from the top).
 */
export function inputItemsPage(rows: { item_id: string; item: string }[], query: ItemPageQuery): ItemPage {
  let start = 0;
  if (query.after !== undefined) {
    const at = rows.findIndex((r) => r.item_id === query.after);
    start = at === -1 ? rows.length : at + 1;
  }
  return toPage(
    rows.slice(start, start + query.limit).map((r) => parseItem(r.item)),
    start + query.limit < rows.length,
  );
}

/** A page from rows fetched with `LIMIT query.limit + 1`: the extra row only says there is more. */
export function limitedPage(rows: { item: string }[], query: ItemPageQuery): ItemPage {
  return toPage(
    rows.slice(0, query.limit).map((r) => parseItem(r.item)),
    rows.length > query.limit,
  );
}
