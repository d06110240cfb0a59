/**
 * Copies a single-node SQLite store (`herald.db`) into a PostgreSQL store (`herald store copy`):
 * responses with their items and compactions, conversations with theirs, chat-platform sessions,
 * Chat Completions transcripts, runs with their events, `always` approval rules, pairing codes and
 * paired people. Objects keep their ids, owners and timestamps, and their parts keep their order
 * (sequence numbers are the target's own, so run event ids are renumbered). An object already in the
 * target exactly as in the source is skipped, so a second copy copies nothing; an object present with
 * different content is a conflict, and nothing is written unless `force` replaces those. Both schemas
 * must be current (the caller opens both stores first). It does not copy back to SQLite.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Database } from './database.ts';
import {
  inTransaction,
  type PostgresClient,
  type PostgresPool,
  type Queryable,
} from './postgres-database.ts';

type Row = Record<string, unknown>;

/** One kind of object: how to list and read it in SQLite, read it in PostgreSQL, and write it there. */
interface Kind {
  name: string;
  /** The keys of the source's objects, in their original order. */
  keys(db: Database): string[];
  /** The object as a comparable value (no sequence numbers: positions instead). */
  source(db: Database, key: string): Row;
  target(pg: Queryable, key: string, source: Row): Promise<Row | undefined>;
  remove(pg: Queryable, key: string, source: Row): Promise<void>;
  insert(pg: Queryable, key: string, value: Row): Promise<void>;
  /** Only these columns decide whether a target row is the same (all of the value when unset). */
  compared?: string[];
}

export interface CopyCounts {
  copied: number;
  /** Already there, identical. */
  skipped: number;
  /** Conflicting, replaced (with `force`). */
  replaced: number;
}

export type CopyReport = Record<string, CopyCounts>;

export class StoreCopyConflictError extends Error {
  override readonly name = 'StoreCopyConflictError';
  readonly conflicts: Record<string, string[]>;

  constructor(conflicts: Record<string, string[]>) {
    const listed = Object.entries(conflicts)
      .map(
        ([kind, keys]) =>
          `${keys.length} ${kind} (${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', …' : ''})`,
      )
      .join('; ');
    super(`The target already holds different data under the same ids: ${listed}.`);
    this.conflicts = conflicts;
  }
}

const all = (db: Database, sql: string, ...params: (string | number)[]): Row[] =>
  db.prepare(sql).all(...params) as Row[];
const one = (db: Database, sql: string, ...params: (string | number)[]): Row | undefined =>
  db.prepare(sql).get(...params) as Row | undefined;
const column = (rows: Row[], name: string): string[] => rows.map((row) => String(row[name]));

async function pgAll(pg: Queryable, sql: string, params: unknown[]): Promise<Row[]> {
  return (await pg.query(sql, params)).rows as Row[];
}

/** How many of `seqs` are at or below `through`: a compaction's reach as a position, not a seq. */
function reach(seqs: number[], through: number): number {
  return seqs.filter((seq) => seq <= through).length;
}

async function insertRows(pg: Queryable, table: string, rows: Row[]): Promise<void> {
  for (const row of rows) {
    const names = Object.keys(row);
    await pg.query(
      `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`,
      names.map((name) => row[name]),
    );
  }
}

const responses: Kind = {
  name: 'responses',
  keys: (db) => column(all(db, 'SELECT id FROM responses ORDER BY rowid'), 'id'),
  source: (db, id) => ({
    row: one(
      db,
      'SELECT id, owner, status, body, previous_response_id, root_id, conversation_id, created_at FROM responses WHERE id = ?',
      id,
    ),
    items: all(
      db,
      'SELECT kind, position, item_id, item FROM response_items WHERE response_id = ? ORDER BY rowid',
      id,
    ),
    compaction:
      one(db, 'SELECT context FROM response_compactions WHERE response_id = ?', id)?.['context'] ?? null,
  }),
  target: async (pg, id) => {
    const [row] = await pgAll(
      pg,
      'SELECT id, owner, status, body, previous_response_id, root_id, conversation_id, created_at FROM responses WHERE id = $1',
      [id],
    );
    if (!row) return undefined;
    return {
      row,
      items: await pgAll(
        pg,
        'SELECT kind, position, item_id, item FROM response_items WHERE response_id = $1 ORDER BY seq',
        [id],
      ),
      compaction:
        (await pgAll(pg, 'SELECT context FROM response_compactions WHERE response_id = $1', [id]))[0]?.[
          'context'
        ] ?? null,
    };
  },
  remove: async (pg, id) => {
    await pg.query('DELETE FROM responses WHERE id = $1', [id]);
  },
  insert: async (pg, id, value) => {
    await insertRows(pg, 'responses', [value['row'] as Row]);
    await insertRows(
      pg,
      'response_items',
      (value['items'] as Row[]).map((item) => ({ response_id: id, ...item })),
    );
    if (value['compaction'] !== null) {
      await insertRows(pg, 'response_compactions', [{ response_id: id, context: value['compaction'] }]);
    }
  },
};

const conversations: Kind = {
  name: 'conversations',
  keys: (db) => column(all(db, 'SELECT id FROM conversations ORDER BY rowid'), 'id'),
  source: (db, id) => {
    const items = all(
      db,
      'SELECT seq, item_id, item FROM conversation_items WHERE conversation_id = ? ORDER BY seq',
      id,
    );
    const compaction = one(
      db,
      'SELECT through_seq, context FROM conversation_compactions WHERE conversation_id = ?',
      id,
    );
    return conversationValue(
      one(db, 'SELECT id, owner, name, metadata, created_at FROM conversations WHERE id = ?', id),
      items,
      compaction,
    );
  },
  target: async (pg, id, source) => {
    const { owner, name } = source['row'] as Row;
    // A conversation of the same owner and name under another id conflicts too: names are unique.
    const [row] = await pgAll(
      pg,
      `SELECT id, owner, name, metadata, created_at FROM conversations
        WHERE id = $1 OR (name IS NOT NULL AND owner = $2 AND name = $3) ORDER BY id = $1 DESC`,
      [id, owner, name],
    );
    if (!row) return undefined;
    const items = await pgAll(
      pg,
      'SELECT seq, item_id, item FROM conversation_items WHERE conversation_id = $1 ORDER BY seq',
      [row['id']],
    );
    const [compaction] = await pgAll(
      pg,
      'SELECT through_seq, context FROM conversation_compactions WHERE conversation_id = $1',
      [row['id']],
    );
    return conversationValue(row, items, compaction);
  },
  remove: async (pg, id, source) => {
    const { owner, name } = source['row'] as Row;
    await pg.query(
      'DELETE FROM conversations WHERE id = $1 OR (name IS NOT NULL AND owner = $2 AND name = $3)',
      [id, owner, name],
    );
  },
  insert: async (pg, id, value) => {
    const row = value['row'] as Row;
    await insertRows(pg, 'conversations', [row]);
    const seqs: number[] = [];
    for (const item of value['items'] as Row[]) {
      const { rows } = await pg.query<{ seq: number }>(
        'INSERT INTO conversation_items (conversation_id, item_id, item) VALUES ($1, $2, $3) RETURNING seq',
        [id, item['item_id'], item['item']],
      );
      seqs.push(rows[0]!.seq);
    }
    const compaction = value['compaction'] as { through: number; context: string } | null;
    if (compaction) {
      await insertRows(pg, 'conversation_compactions', [
        {
          conversation_id: id,
          through_seq: compaction.through > 0 ? seqs[compaction.through - 1] : 0,
          context: compaction.context,
        },
      ]);
    }
  },
};

/** A conversation as compared and written: its row, its items in order, its compaction's reach. */
function conversationValue(row: Row | undefined, items: Row[], compaction: Row | undefined): Row {
  return {
    row,
    items: items.map(({ item_id, item }) => ({ item_id, item })),
    compaction: compaction
      ? {
          through: reach(
            items.map((i) => Number(i['seq'])),
            Number(compaction['through_seq']),
          ),
          context: compaction['context'],
        }
      : null,
  };
}

const sessions: Kind = {
  name: 'sessions',
  keys: (db) =>
    column(
      all(
        db,
        `SELECT session_key FROM (
           SELECT session_key, MIN(seq) AS first FROM session_messages GROUP BY session_key
           UNION ALL SELECT session_key, 9223372036854775807 FROM session_summaries
            WHERE session_key NOT IN (SELECT session_key FROM session_messages)
         ) GROUP BY session_key ORDER BY MIN(first), session_key`,
      ),
      'session_key',
    ),
  source: (db, key) =>
    sessionValue(
      all(db, 'SELECT seq, message FROM session_messages WHERE session_key = ? ORDER BY seq', key),
      one(db, 'SELECT through_seq, summary FROM session_summaries WHERE session_key = ?', key),
    ),
  target: async (pg, key) => {
    const messages = await pgAll(
      pg,
      'SELECT seq, message FROM session_messages WHERE session_key = $1 ORDER BY seq',
      [key],
    );
    const [summary] = await pgAll(
      pg,
      'SELECT through_seq, summary FROM session_summaries WHERE session_key = $1',
      [key],
    );
    return messages.length > 0 || summary ? sessionValue(messages, summary) : undefined;
  },
  remove: async (pg, key) => {
    await pg.query('DELETE FROM session_messages WHERE session_key = $1', [key]);
    await pg.query('DELETE FROM session_summaries WHERE session_key = $1', [key]);
  },
  insert: async (pg, key, value) => {
    const seqs: number[] = [];
    for (const message of value['messages'] as string[]) {
      const { rows } = await pg.query<{ seq: number }>(
        'INSERT INTO session_messages (session_key, message) VALUES ($1, $2) RETURNING seq',
        [key, message],
      );
      seqs.push(rows[0]!.seq);
    }
    const summary = value['summary'] as { through: number; summary: string } | null;
    if (summary) {
      await insertRows(pg, 'session_summaries', [
        {
          session_key: key,
          through_seq: summary.through > 0 ? seqs[summary.through - 1] : 0,
          summary: summary.summary,
        },
      ]);
    }
  },
};

function sessionValue(messages: Row[], summary: Row | undefined): Row {
  return {
    messages: messages.map((m) => m['message']),
    summary: summary
      ? {
          through: reach(
            messages.map((m) => Number(m['seq'])),
            Number(summary['through_seq']),
          ),
          summary: summary['summary'],
        }
      : null,
  };
}

const transcripts: Kind = {
  name: 'transcripts',
  keys: (db) => column(all(db, 'SELECT id FROM transcript_sessions ORDER BY rowid'), 'id'),
  source: (db, id) => ({
    row: one(db, 'SELECT id, scope, created_at, updated_at FROM transcript_sessions WHERE id = ?', id),
    states: all(
      db,
      'SELECT scope, visible_hash, visible_turns, messages, created_at FROM transcript_states WHERE session_id = ? ORDER BY seq',
      id,
    ),
  }),
  target: async (pg, id) => {
    const [row] = await pgAll(
      pg,
      'SELECT id, scope, created_at, updated_at FROM transcript_sessions WHERE id = $1',
      [id],
    );
    if (!row) return undefined;
    return {
      row,
      states: await pgAll(
        pg,
        'SELECT scope, visible_hash, visible_turns, messages, created_at FROM transcript_states WHERE session_id = $1 ORDER BY seq',
        [id],
      ),
    };
  },
  remove: async (pg, id) => {
    await pg.query('DELETE FROM transcript_sessions WHERE id = $1', [id]);
  },
  insert: async (pg, id, value) => {
    const row = value['row'] as Row;
    await insertRows(pg, 'transcript_sessions', [row]);
    await insertRows(
      pg,
      'transcript_states',
      (value['states'] as Row[]).map((state) => ({ session_id: id, ...state })),
    );
  },
};

const runColumns = 'id, owner, status, created_at, model, response_id, usage, output_text, error';
const runs: Kind = {
  name: 'runs',
  keys: (db) => column(all(db, 'SELECT id FROM runs ORDER BY rowid'), 'id'),
  source: (db, id) => ({
    row: one(db, `SELECT ${runColumns} FROM runs WHERE id = ?`, id),
    events: all(db, 'SELECT type, data FROM run_events WHERE run_id = ? ORDER BY seq', id),
  }),
  target: async (pg, id) => {
    const [row] = await pgAll(pg, `SELECT ${runColumns} FROM runs WHERE id = $1`, [id]);
    if (!row) return undefined;
    return {
      row,
      events: await pgAll(pg, 'SELECT type, data FROM run_events WHERE run_id = $1 ORDER BY seq', [id]),
    };
  },
  remove: async (pg, id) => {
    await pg.query('DELETE FROM runs WHERE id = $1', [id]);
  },
  insert: async (pg, id, value) => {
    const row = value['row'] as Row;
    await insertRows(pg, 'runs', [row]);
    await insertRows(
      pg,
      'run_events',
      (value['events'] as Row[]).map((event) => ({ run_id: id, ...event })),
    );
  },
};

/**
 * A table whose rows are whole objects, keyed by some of their columns; `compared` leaves out what may
 * differ without conflict (when an `always` rule or a pairing was added on both sides).
 */
function flat(name: string, table: string, keyColumns: string[], compared: string[]): Kind {
  const where = (placeholder: (i: number) => string) =>
    keyColumns.map((c, i) => `${c} = ${placeholder(i)}`).join(' AND ');
  const split = (key: string) => JSON.parse(key) as string[];
  return {
    name,
    keys: (db) =>
      all(db, `SELECT ${keyColumns.join(', ')} FROM ${table} ORDER BY rowid`).map((row) =>
        JSON.stringify(keyColumns.map((c) => row[c])),
      ),
    source: (db, key) => ({ ...one(db, `SELECT * FROM ${table} WHERE ${where(() => '?')}`, ...split(key)) }),
    target: async (pg, key) =>
      (await pgAll(pg, `SELECT * FROM ${table} WHERE ${where((i) => `$${i + 1}`)}`, split(key)))[0],
    remove: async (pg, key) => {
      await pg.query(`DELETE FROM ${table} WHERE ${where((i) => `$${i + 1}`)}`, split(key));
    },
    insert: (pg, _key, value) => insertRows(pg, table, [value]),
    compared,
  };
}

const kinds: Kind[] = [
  responses,
  conversations,
  sessions,
  transcripts,
  runs,
  flat('approval rules', 'approval_rules', ['pattern'], ['pattern']),
  flat('paired users', 'paired_users', ['platform', 'user_id'], ['platform', 'user_id', 'user_name']),
  flat(
    'pairing codes',
    'pairing_requests',
    ['platform', 'user_id'],
    ['code', 'platform', 'user_id', 'user_name', 'status', 'created_at', 'expires_at'],
  ),
];

function comparable(kind: Kind, value: Row): unknown {
  const shown = kind.compared ? Object.fromEntries(kind.compared.map((c) => [c, value[c]])) : value;
  // Through JSON: SQLite's rows have no prototype, and its integers may be bigints.
  return JSON.parse(JSON.stringify(shown, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
}

/**
 * Copies everything from `db` into `pool`; throws StoreCopyConflictError (having written nothing) when
 * the target holds different data under the same ids, unless `force`.
 */
export async function copySqliteToPostgres(
  db: Database,
  pool: PostgresPool,
  options: { force?: boolean } = {},
): Promise<CopyReport> {
  type Planned = { key: string; value: Row; state: 'new' | 'same' | 'conflict' };
  const plans = new Map<Kind, Planned[]>();
  const conflicts: Record<string, string[]> = {};
  for (const kind of kinds) {
    const planned: Planned[] = [];
    for (const key of kind.keys(db)) {
      const value = kind.source(db, key);
      const existing = await kind.target(pool, key, value);
      const state = !existing
        ? 'new'
        : isDeepStrictEqual(comparable(kind, existing), comparable(kind, value))
          ? 'same'
          : 'conflict';
      if (state === 'conflict') conflicts[kind.name] = [...(conflicts[kind.name] ?? []), key];
      planned.push({ key, value, state });
    }
    plans.set(kind, planned);
  }
  if (Object.keys(conflicts).length > 0 && !options.force) throw new StoreCopyConflictError(conflicts);

  const report: CopyReport = {};
  for (const [kind, planned] of plans) {
    const counts: CopyCounts = { copied: 0, skipped: 0, replaced: 0 };
    await inTransaction(pool, async (client: PostgresClient) => {
      for (const { key, value, state } of planned) {
        if (state === 'same') {
          counts.skipped++;
          continue;
        }
        if (state === 'conflict') {
          await kind.remove(client, key, value);
          counts.replaced++;
        } else counts.copied++;
        await kind.insert(client, key, value);
      }
    });
    report[kind.name] = counts;
  }
  return report;
}
