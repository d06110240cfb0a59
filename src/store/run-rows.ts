/**
 * What the SQLite and PostgreSQL run stores share: the row shape of a run and of a run event, their
 * mapping to `StoredRun` / `RunEvent`, and how nullable JSON columns are written. No queries.
 */
import type { Usage } from '../model/types.ts';
import type { RunEvent, RunStatus, StoredRun } from './types.ts';

export interface RunRow {
  id: string;
  owner: string;
  status: RunStatus;
  created_at: number;
  model: string;
  response_id: string;
  usage: string | null;
  output_text: string | null;
  error: string | null;
}

/** The statuses of a run that is not over, as an SQL list. */
export const unfinishedRunStatusesSql = "('queued', 'running', 'waiting_for_approval')";

export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export function fromRow(row: RunRow): StoredRun {
  return {
    id: row.id,
    owner: row.owner,
    status: row.status,
    createdAt: Number(row.created_at),
    model: row.model,
    responseId: row.response_id,
    usage: row.usage ? (JSON.parse(row.usage) as Usage) : null,
    outputText: row.output_text,
    error: row.error ? (JSON.parse(row.error) as StoredRun['error']) : null,
  };
}

export function toEvent(row: { seq: number; type: string; data: string }): RunEvent {
  return { seq: Number(row.seq), type: row.type, data: JSON.parse(row.data) as Record<string, unknown> };
}

/** The columns `update` writes, in order, for the fields given. */
export function updateColumns(
  update: Partial<Pick<StoredRun, 'status' | 'usage' | 'outputText' | 'error'>>,
): [string, string | null][] {
  const columns: [string, string | null][] = [];
  if (update.status !== undefined) columns.push(['status', update.status]);
  if (update.usage !== undefined) columns.push(['usage', json(update.usage)]);
  if (update.outputText !== undefined) columns.push(['output_text', update.outputText]);
  if (update.error !== undefined) columns.push(['error', json(update.error)]);
  return columns;
}
