/**
 * The PostgreSQL `ResponseStore`, for several replicas sharing one database: the same tables and
 * answers as the SQLite store (its schema steps mirror SQLite's as one list of their own), plus the
 * replica that runs each unfinished response, so recovery (`markInterrupted`) only touches responses
 * whose replica's lease has expired. Like the SQLite store it neither interprets items nor decides
 * what to store; serialising turns across replicas is the turn lock's job, not this store's.
 */

import { newId } from './new-id.ts';
import {
  inTransaction,
  migratePostgres,
  type PostgresPool,
  type Queryable,
  valuesList,
} from './postgres-database.ts';
import { liveInstancesSql } from './replica-lease.ts';
import {
  type ConversationRow,
  closeItem,
  inputItemsPage,
  interruptedBody,
  limitedPage,
  parseItem,
  toConversation,
  toPage,
} from './response-rows.ts';
import type {
  CompactedContext,
  CompactedHistory,
  ItemPage,
  ItemPageQuery,
  ResponseItem,
  ResponseStatus,
  ResponseStore,
  RetentionPolicy,
  StoredConversation,
  StoredResponse,
} from './types.ts';

/**
 * Schema steps (append-only). `seq` identity columns stand in for SQLite's rowid where insertion order
 * matters; `instance_id` names the replica that last wrote a response.
 */
export const postgresResponseStoreMigrations = [
  `CREATE TABLE responses (
     id TEXT PRIMARY KEY,
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     owner TEXT NOT NULL,
     status TEXT NOT NULL,
     body TEXT NOT NULL,
     previous_response_id TEXT,
     root_id TEXT NOT NULL,
     conversation_id TEXT,
     created_at BIGINT NOT NULL,
     instance_id TEXT
   );
   CREATE INDEX responses_created_at ON responses (created_at, seq);
   CREATE INDEX responses_unfinished ON responses (status) WHERE status IN ('in_progress', 'queued');
   CREATE TABLE response_items (
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
     kind TEXT NOT NULL CHECK (kind IN ('input', 'output')),
     position INTEGER NOT NULL,
     item_id TEXT NOT NULL,
     item TEXT NOT NULL,
     PRIMARY KEY (response_id, kind, position)
   );
   CREATE INDEX response_items_item_id ON response_items (item_id);
   CREATE TABLE conversations (
     id TEXT PRIMARY KEY,
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     owner TEXT NOT NULL,
     name TEXT,
     metadata TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     UNIQUE (owner, name)
   );
   CREATE INDEX conversations_by_owner ON conversations (owner, created_at);
   CREATE TABLE conversation_items (
     seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     item_id TEXT NOT NULL,
     item TEXT NOT NULL
   );
   CREATE INDEX conversation_items_by_conversation ON conversation_items (conversation_id, seq);
   CREATE INDEX conversation_items_item_id ON conversation_items (item_id);
   CREATE TABLE response_compactions (
     response_id TEXT PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
     context TEXT NOT NULL
   );
   CREATE TABLE conversation_compactions (
     conversation_id TEXT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
     through_seq BIGINT NOT NULL,
     context TEXT NOT NULL
   );`,
];

/** The chain ending at `$1`, newest first (depth 0), walked at most `$2` deep. */
const chainCte = `WITH RECURSIVE chain (id, previous, depth) AS (
    SELECT id, previous_response_id, 0 FROM responses WHERE id = $1
    UNION ALL
    SELECT r.id, r.previous_response_id, c.depth + 1
      FROM responses r JOIN chain c ON r.id = c.previous
     WHERE c.depth < $2
  )`;

/** Guards chain walks against a (corrupt) cycle; real chains are far shorter. */
const maxChainDepth = 100_000;

export interface PostgresResponseStoreOptions {
  /** The replica writing through this store: recorded on the responses it puts. */
  instanceId: string;
  /** Applied at `open` and every `pruneEveryPuts` puts. */
  retention?: RetentionPolicy;
  /** Keeps pruning cheap under load (default 50). */
  pruneEveryPuts?: number;
  /** Clock in ms, for tests of age-based retention. */
  now?: () => number;
}

interface ResponseRow {
  id: string;
  owner: string;
  status: string;
  body: string;
  previous_response_id: string | null;
  conversation_id: string | null;
  created_at: number;
}

export class PostgresResponseStore implements ResponseStore {
  readonly #pool: PostgresPool;
  readonly #options: PostgresResponseStoreOptions;
  readonly #now: () => number;
  #putsSincePrune = 0;

  private constructor(pool: PostgresPool, options: PostgresResponseStoreOptions) {
    this.#pool = pool;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Migrates the schema (once, under a lock across replicas) and applies retention. */
  static async open(
    pool: PostgresPool,
    options: PostgresResponseStoreOptions,
  ): Promise<PostgresResponseStore> {
    await migratePostgres(pool, 'responses', postgresResponseStoreMigrations);
    const store = new PostgresResponseStore(pool, options);
    if (options.retention) await store.prune(options.retention);
    return store;
  }

  async put(response: StoredResponse): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      const previous = response.previousResponseId
        ? await one<{ root_id: string }>(client, 'SELECT root_id FROM responses WHERE id = $1', [
            response.previousResponseId,
          ])
        : undefined;
      await client.query(
        `INSERT INTO responses (id, status, body, previous_response_id, root_id, conversation_id, created_at, owner, instance_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body, instance_id = excluded.instance_id`,
        [
          response.id,
          response.status,
          JSON.stringify(response.body),
          response.previousResponseId,
          previous?.root_id ?? response.id,
          response.conversationId,
          response.createdAt,
          response.owner,
          this.#options.instanceId,
        ],
      );
      await client.query('DELETE FROM response_items WHERE response_id = $1', [response.id]);
      const rows = [
        ...response.inputItems.map((item, i) => [response.id, 'input', i, item.id, JSON.stringify(item)]),
        ...response.outputItems.map((item, i) => [response.id, 'output', i, item.id, JSON.stringify(item)]),
      ];
      if (rows.length > 0) {
        await client.query(
          `INSERT INTO response_items (response_id, kind, position, item_id, item) VALUES ${valuesList(rows.length, 5)}`,
          rows.flat(),
        );
      }
    });
    const retention = this.#options.retention;
    if (retention && ++this.#putsSincePrune >= (this.#options.pruneEveryPuts ?? 50)) {
      this.#putsSincePrune = 0;
      await this.prune(retention);
    }
  }

  async get(id: string): Promise<StoredResponse | undefined> {
    const row = await one<ResponseRow>(this.#pool, 'SELECT * FROM responses WHERE id = $1', [id]);
    if (!row) return undefined;
    const { rows: items } = await this.#pool.query<{ kind: string; item: string }>(
      'SELECT kind, item FROM response_items WHERE response_id = $1 ORDER BY kind, position',
      [id],
    );
    return {
      id: row.id,
      status: row.status as ResponseStatus,
      body: JSON.parse(row.body) as Record<string, unknown>,
      inputItems: items.filter((r) => r.kind === 'input').map((r) => parseItem(r.item)),
      outputItems: items.filter((r) => r.kind === 'output').map((r) => parseItem(r.item)),
      previousResponseId: row.previous_response_id,
      conversationId: row.conversation_id,
      createdAt: row.created_at,
      owner: row.owner,
    };
  }

  async delete(id: string): Promise<boolean> {
    return ((await this.#pool.query('DELETE FROM responses WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async getItem(id: string, owner: string): Promise<ResponseItem | undefined> {
    const row =
      (await one<{ item: string }>(
        this.#pool,
        `SELECT ri.item FROM response_items ri JOIN responses r ON r.id = ri.response_id
          WHERE ri.item_id = $1 AND r.owner = $2 ORDER BY ri.seq LIMIT 1`,
        [id, owner],
      )) ??
      (await one<{ item: string }>(
        this.#pool,
        `SELECT ci.item FROM conversation_items ci JOIN conversations c ON c.id = ci.conversation_id
          WHERE ci.item_id = $1 AND c.owner = $2 ORDER BY ci.seq LIMIT 1`,
        [id, owner],
      ));
    return row ? parseItem(row.item) : undefined;
  }

  async chainItems(id: string): Promise<ResponseItem[] | undefined> {
    if (!(await this.#exists('responses', id))) return undefined;
    return this.#chainItems(id, maxChainDepth);
  }

  async chainHistory(id: string): Promise<CompactedHistory | undefined> {
    if (!(await this.#exists('responses', id))) return undefined;
    const latest = await one<{ depth: number; context: string }>(
      this.#pool,
      `${chainCte}
       SELECT c.depth, rc.context FROM chain c JOIN response_compactions rc ON rc.response_id = c.id
        ORDER BY c.depth ASC LIMIT 1`,
      [id, maxChainDepth],
    );
    return {
      compacted: latest ? (JSON.parse(latest.context) as CompactedContext) : undefined,
      items: await this.#chainItems(id, latest ? latest.depth - 1 : maxChainDepth),
    };
  }

  async saveCompaction(
    target: { responseId: string } | { conversationId: string },
    context: CompactedContext,
  ): Promise<void> {
    const json = JSON.stringify(context);
    if ('responseId' in target) {
      await this.#pool.query(
        `INSERT INTO response_compactions (response_id, context) VALUES ($1, $2)
         ON CONFLICT (response_id) DO UPDATE SET context = excluded.context`,
        [target.responseId, json],
      );
      return;
    }
    await this.#pool.query(
      `INSERT INTO conversation_compactions (conversation_id, through_seq, context)
       SELECT $1, COALESCE(MAX(seq), 0), $2 FROM conversation_items WHERE conversation_id = $1
       ON CONFLICT (conversation_id) DO UPDATE SET through_seq = excluded.through_seq, context = excluded.context`,
      [target.conversationId, json],
    );
  }

  async #chainItems(id: string, maxDepth: number): Promise<ResponseItem[]> {
    if (maxDepth < 0) return [];
    const { rows } = await this.#pool.query<{ item: string }>(
      `${chainCte}
       SELECT ri.item FROM chain c JOIN response_items ri ON ri.response_id = c.id
        ORDER BY c.depth DESC, ri.kind ASC, ri.position ASC`,
      [id, maxDepth],
    );
    return rows.map((r) => parseItem(r.item));
  }

  async chainRoot(id: string): Promise<string | undefined> {
    return (await one<{ root_id: string }>(this.#pool, 'SELECT root_id FROM responses WHERE id = $1', [id]))
      ?.root_id;
  }

  async listInputItems(id: string, query: ItemPageQuery): Promise<ItemPage | undefined> {
    if (!(await this.#exists('responses', id))) return undefined;
    const { rows } = await this.#pool.query<{ item_id: string; item: string }>(
      `SELECT item_id, item FROM response_items WHERE response_id = $1 AND kind = 'input'
        ORDER BY position ${query.order === 'asc' ? 'ASC' : 'DESC'}`,
      [id],
    );
    return inputItemsPage(rows, query);
  }

  async createConversation(init: {
    owner: string;
    metadata?: Record<string, string>;
    items?: ResponseItem[];
    name?: string;
  }): Promise<StoredConversation> {
    const conversation: StoredConversation = {
      id: newId('conv'),
      name: init.name ?? null,
      createdAt: Math.floor(this.#now() / 1000),
      metadata: init.metadata ?? {},
      owner: init.owner,
    };
    await inTransaction(this.#pool, async (client) => {
      await insertConversation(client, conversation, '');
      await appendItems(client, conversation.id, init.items ?? []);
    });
    return conversation;
  }

  async getConversation(id: string): Promise<StoredConversation | undefined> {
    const row = await one<ConversationRow>(this.#pool, 'SELECT * FROM conversations WHERE id = $1', [id]);
    return row ? toConversation(row) : undefined;
  }

  async listConversations(owner: string, limit: number): Promise<StoredConversation[]> {
    const { rows } = await this.#pool.query<ConversationRow>(
      'SELECT * FROM conversations WHERE owner = $1 ORDER BY created_at DESC, seq DESC LIMIT $2',
      [owner, limit],
    );
    return rows.map(toConversation);
  }

  async conversationByName(name: string, owner: string): Promise<StoredConversation> {
    // Insert-if-absent then read: whoever loses a race (another replica) reads the winner's.
    await insertConversation(
      this.#pool,
      { id: newId('conv'), name, createdAt: Math.floor(this.#now() / 1000), metadata: {}, owner },
      'ON CONFLICT (owner, name) DO NOTHING',
    );
    const row = await one<ConversationRow>(
      this.#pool,
      'SELECT * FROM conversations WHERE owner = $1 AND name = $2',
      [owner, name],
    );
    return toConversation(row!);
  }

  async updateConversation(
    id: string,
    metadata: Record<string, string>,
  ): Promise<StoredConversation | undefined> {
    await this.#pool.query('UPDATE conversations SET metadata = $1 WHERE id = $2', [
      JSON.stringify(metadata),
      id,
    ]);
    return this.getConversation(id);
  }

  async deleteConversation(id: string): Promise<boolean> {
    return ((await this.#pool.query('DELETE FROM conversations WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async appendConversationItems(id: string, items: ResponseItem[]): Promise<boolean> {
    if (!(await this.#exists('conversations', id))) return false;
    await appendItems(this.#pool, id, items);
    return true;
  }

  async conversationItems(id: string): Promise<ResponseItem[] | undefined> {
    if (!(await this.#exists('conversations', id))) return undefined;
    const { rows } = await this.#pool.query<{ item: string }>(
      'SELECT item FROM conversation_items WHERE conversation_id = $1 ORDER BY seq',
      [id],
    );
    return rows.map((r) => parseItem(r.item));
  }

  async conversationHistory(id: string): Promise<CompactedHistory | undefined> {
    if (!(await this.#exists('conversations', id))) return undefined;
    const latest = await one<{ through_seq: number; context: string }>(
      this.#pool,
      'SELECT through_seq, context FROM conversation_compactions WHERE conversation_id = $1',
      [id],
    );
    const { rows } = await this.#pool.query<{ item: string }>(
      'SELECT item FROM conversation_items WHERE conversation_id = $1 AND seq > $2 ORDER BY seq',
      [id, latest?.through_seq ?? 0],
    );
    return {
      compacted: latest ? (JSON.parse(latest.context) as CompactedContext) : undefined,
      items: rows.map((r) => parseItem(r.item)),
    };
  }

  async listConversationItems(id: string, query: ItemPageQuery): Promise<ItemPage | undefined> {
    if (!(await this.#exists('conversations', id))) return undefined;
    const asc = query.order === 'asc';
    let cursor: number | undefined;
    if (query.after !== undefined) {
      const row = await one<{ seq: number }>(
        this.#pool,
        'SELECT seq FROM conversation_items WHERE conversation_id = $1 AND item_id = $2 ORDER BY seq LIMIT 1',
        [id, query.after],
      );
      // An unknown cursor yields an empty page rather than restarting from the top (no endless paging).
      if (!row) return toPage([], false);
      cursor = row.seq;
    }
    const { rows } = await this.#pool.query<{ item: string }>(
      `SELECT item FROM conversation_items
        WHERE conversation_id = $1 AND seq ${asc ? '>' : '<'} $2
        ORDER BY seq ${asc ? 'ASC' : 'DESC'} LIMIT $3`,
      [id, cursor ?? (asc ? -1 : Number.MAX_SAFE_INTEGER), query.limit + 1],
    );
    return limitedPage(rows, query);
  }

  async getConversationItem(conversationId: string, itemId: string): Promise<ResponseItem | undefined> {
    const row = await one<{ item: string }>(
      this.#pool,
      'SELECT item FROM conversation_items WHERE conversation_id = $1 AND item_id = $2 ORDER BY seq LIMIT 1',
      [conversationId, itemId],
    );
    return row ? parseItem(row.item) : undefined;
  }

  async deleteConversationItem(conversationId: string, itemId: string): Promise<boolean> {
    const result = await this.#pool.query(
      'DELETE FROM conversation_items WHERE conversation_id = $1 AND item_id = $2',
      [conversationId, itemId],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /**
   * Marks unfinished responses whose replica is gone (its lease expired or released) as interrupted;
   * a live replica's running responses are left alone. Safe to run from several replicas at once: rows
   * another replica is recovering are skipped, not waited for.
   */
  async markInterrupted(): Promise<number> {
    return inTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ id: string; body: string }>(
        `SELECT id, body FROM responses
          WHERE status IN ('in_progress', 'queued')
            AND (instance_id IS NULL OR instance_id NOT IN (${liveInstancesSql}))
          FOR UPDATE SKIP LOCKED`,
      );
      for (const row of rows) {
        await client.query("UPDATE responses SET status = 'incomplete', body = $1 WHERE id = $2", [
          JSON.stringify(interruptedBody(JSON.parse(row.body))),
          row.id,
        ]);
        const outputs = await client.query<{ position: number; item: string }>(
          "SELECT position, item FROM response_items WHERE response_id = $1 AND kind = 'output'",
          [row.id],
        );
        for (const item of outputs.rows) {
          await client.query(
            "UPDATE response_items SET item = $1 WHERE response_id = $2 AND kind = 'output' AND position = $3",
            [JSON.stringify(closeItem(parseItem(item.item))), row.id, item.position],
          );
        }
      }
      return rows.length;
    });
  }

  /** The live replica running unfinished response `id`, if any (where a cancel must go). */
  async runningReplica(id: string): Promise<string | undefined> {
    return (
      await one<{ instance_id: string }>(
        this.#pool,
        `SELECT instance_id FROM responses
          WHERE id = $1 AND status IN ('in_progress', 'queued') AND instance_id IN (${liveInstancesSql})`,
        [id],
      )
    )?.instance_id;
  }

  async prune(policy: RetentionPolicy): Promise<number> {
    const cutoff = Math.floor(this.#now() / 1000) - policy.maxAgeDays * 86_400;
    const aged = await this.#pool.query('DELETE FROM responses WHERE created_at < $1', [cutoff]);
    // Keep the newest `maxStored`: everything past that offset in newest-first order goes.
    const over = await this.#pool.query(
      `DELETE FROM responses WHERE id IN (
         SELECT id FROM responses ORDER BY created_at DESC, seq DESC OFFSET $1
       )`,
      [policy.maxStored],
    );
    return (aged.rowCount ?? 0) + (over.rowCount ?? 0);
  }

  async #exists(table: 'responses' | 'conversations', id: string): Promise<boolean> {
    return (await one(this.#pool, `SELECT 1 FROM ${table} WHERE id = $1`, [id])) !== undefined;
  }
}

async function one<T>(db: Queryable, sql: string, params: unknown[]): Promise<T | undefined> {
  const { rows } = await db.query(sql, params);
  return rows[0] as T | undefined;
}

async function insertConversation(
  db: Queryable,
  conversation: StoredConversation,
  onConflict: string,
): Promise<void> {
  await db.query(
    `INSERT INTO conversations (id, owner, name, metadata, created_at) VALUES ($1, $2, $3, $4, $5) ${onConflict}`,
    [
      conversation.id,
      conversation.owner,
      conversation.name,
      JSON.stringify(conversation.metadata),
      conversation.createdAt,
    ],
  );
}

/** One multi-row INSERT: the items get consecutive `seq`s in order. */
async function appendItems(db: Queryable, conversationId: string, items: ResponseItem[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `INSERT INTO conversation_items (conversation_id, item_id, item) VALUES ${valuesList(items.length, 3)}`,
    items.flatMap((item) => [conversationId, item.id, JSON.stringify(item)]),
  );
}
