/**
 * The SQLite `ResponseStore`: stored responses with their input and output items, chains through
 * `previous_response_id`, conversations with their items, and retention. Items are kept as JSON
 * rows so `item_reference` lookups, input-item listings and chain history are plain indexed queries.
 * It does not interpret items (no conversion to model messages) and does not decide what to store.
 */
import { type Database, migrate, writeTransaction } from './database.ts';
import { newId } from './new-id.ts';
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
import {
  type CompactedContext,
  type CompactedHistory,
  type ItemPage,
  type ItemPageQuery,
  LOCAL_OWNER,
  type ResponseItem,
  type ResponseStatus,
  type ResponseStore,
  type RetentionPolicy,
  type StoredConversation,
  type StoredResponse,
} from './types.ts';

/** Schema steps, exported so tests can build a database as an older release left it. */
export const responseStoreMigrations = [
  `CREATE TABLE responses (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     body TEXT NOT NULL,
     previous_response_id TEXT,
     root_id TEXT NOT NULL,
     conversation_id TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX responses_created_at ON responses (created_at);
   CREATE TABLE response_items (
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
     name TEXT UNIQUE,
     metadata TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE conversation_items (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     item_id TEXT NOT NULL,
     item TEXT NOT NULL
   );
   CREATE INDEX conversation_items_by_conversation ON conversation_items (conversation_id, seq);
   CREATE INDEX conversation_items_item_id ON conversation_items (item_id);`,
  // Ownership: rows from before it belong to the keyless owner. Conversation names become unique per
  // owner, which needs a table rebuild (SQLite cannot drop a column's UNIQUE); migrate() runs steps
  // with foreign keys off so dropping the old table does not cascade to conversation_items.
  `ALTER TABLE responses ADD COLUMN owner TEXT NOT NULL DEFAULT '${LOCAL_OWNER}';
   CREATE TABLE conversations_owned (
     id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     name TEXT,
     metadata TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     UNIQUE (owner, name)
   );
   INSERT INTO conversations_owned (id, owner, name, metadata, created_at)
     SELECT id, '${LOCAL_OWNER}', name, metadata, created_at FROM conversations;
   DROP TABLE conversations;
   ALTER TABLE conversations_owned RENAME TO conversations;
   CREATE INDEX responses_unfinished ON responses (status) WHERE status IN ('in_progress', 'queued');`,
  // Compaction: a response's context stands for its chain through it; a conversation's, for its items
  // up to and including `through_seq`.
  `CREATE TABLE response_compactions (
     response_id TEXT PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
     context TEXT NOT NULL
   );
   CREATE TABLE conversation_compactions (
     conversation_id TEXT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
     through_seq INTEGER NOT NULL,
     context TEXT NOT NULL
   );`,
];

/** The chain ending at `?1`, newest first (depth 0), walked at most `?2` deep. */
const chainCte = `WITH RECURSIVE chain (id, previous, depth) AS (
    SELECT id, previous_response_id, 0 FROM responses WHERE id = ?
    UNION ALL
    SELECT r.id, r.previous_response_id, c.depth + 1
      FROM responses r JOIN chain c ON r.id = c.previous
     WHERE c.depth < ?
  )`;

/** Guards chain walks against a (corrupt) cycle; real chains are far shorter. */
const maxChainDepth = 100_000;

export interface SqliteResponseStoreOptions {
  /** Applied at construction and every `pruneEveryPuts` puts. */
  retention?: RetentionPolicy;
  /** Keeps pruning cheap under load: the count query runs once per this many puts (default 50). */
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

export class SqliteResponseStore implements ResponseStore {
  readonly #db: Database;
  readonly #retention: RetentionPolicy | undefined;
  readonly #pruneEveryPuts: number;
  readonly #now: () => number;
  #putsSincePrune = 0;

  constructor(db: Database, options: SqliteResponseStoreOptions = {}) {
    this.#db = db;
    this.#retention = options.retention;
    this.#pruneEveryPuts = options.pruneEveryPuts ?? 50;
    this.#now = options.now ?? Date.now;
    migrate(db, 'responses', responseStoreMigrations);
    if (this.#retention) this.#pruneSync(this.#retention);
  }

  async put(response: StoredResponse): Promise<void> {
    writeTransaction(this.#db, () => {
      const previous = response.previousResponseId
        ? (this.#db.prepare('SELECT root_id FROM responses WHERE id = ?').get(response.previousResponseId) as
            | { root_id: string }
            | undefined)
        : undefined;
      this.#db
        .prepare(
          `INSERT INTO responses (id, status, body, previous_response_id, root_id, conversation_id, created_at, owner)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body`,
        )
        .run(
          response.id,
          response.status,
          JSON.stringify(response.body),
          response.previousResponseId,
          previous?.root_id ?? response.id,
          response.conversationId,
          response.createdAt,
          response.owner,
        );
      this.#db.prepare('DELETE FROM response_items WHERE response_id = ?').run(response.id);
      const insert = this.#db.prepare(
        'INSERT INTO response_items (response_id, kind, position, item_id, item) VALUES (?, ?, ?, ?, ?)',
      );
      response.inputItems.forEach((item, i) => {
        insert.run(response.id, 'input', i, item.id, JSON.stringify(item));
      });
      response.outputItems.forEach((item, i) => {
        insert.run(response.id, 'output', i, item.id, JSON.stringify(item));
      });
    });
    if (this.#retention && ++this.#putsSincePrune >= this.#pruneEveryPuts) {
      this.#putsSincePrune = 0;
      this.#pruneSync(this.#retention);
    }
  }

  async get(id: string): Promise<StoredResponse | undefined> {
    const row = this.#db.prepare('SELECT * FROM responses WHERE id = ?').get(id) as ResponseRow | undefined;
    if (!row) return undefined;
    const items = this.#db
      .prepare('SELECT kind, item FROM response_items WHERE response_id = ? ORDER BY kind, position')
      .all(id) as { kind: string; item: string }[];
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
    return Number(this.#db.prepare('DELETE FROM responses WHERE id = ?').run(id).changes) > 0;
  }

  async getItem(id: string, owner: string): Promise<ResponseItem | undefined> {
    const row = (this.#db
      .prepare(
        `SELECT ri.item FROM response_items ri JOIN responses r ON r.id = ri.response_id
          WHERE ri.item_id = ? AND r.owner = ? ORDER BY ri.rowid LIMIT 1`,
      )
      .get(id, owner) ??
      this.#db
        .prepare(
          `SELECT ci.item FROM conversation_items ci JOIN conversations c ON c.id = ci.conversation_id
            WHERE ci.item_id = ? AND c.owner = ? ORDER BY ci.seq LIMIT 1`,
        )
        .get(id, owner)) as { item: string } | undefined;
    return row ? parseItem(row.item) : undefined;
  }

  async chainItems(id: string): Promise<ResponseItem[] | undefined> {
    if (!this.#db.prepare('SELECT 1 FROM responses WHERE id = ?').get(id)) return undefined;
    return this.#chainItemsSync(id, maxChainDepth);
  }

  async chainHistory(id: string): Promise<CompactedHistory | undefined> {
    if (!this.#db.prepare('SELECT 1 FROM responses WHERE id = ?').get(id)) return undefined;
    const latest = this.#db
      .prepare(
        `${chainCte}
         SELECT c.depth, rc.context FROM chain c JOIN response_compactions rc ON rc.response_id = c.id
          ORDER BY c.depth ASC LIMIT 1`,
      )
      .get(id, maxChainDepth) as { depth: number; context: string } | undefined;
    return {
      compacted: latest ? (JSON.parse(latest.context) as CompactedContext) : undefined,
      items: latest ? this.#chainItemsSync(id, latest.depth - 1) : this.#chainItemsSync(id, maxChainDepth),
    };
  }

  async saveCompaction(
    target: { responseId: string } | { conversationId: string },
    context: CompactedContext,
  ): Promise<void> {
    const json = JSON.stringify(context);
    if ('responseId' in target) {
      this.#db
        .prepare(
          `INSERT INTO response_compactions (response_id, context) VALUES (?, ?)
           ON CONFLICT (response_id) DO UPDATE SET context = excluded.context`,
        )
        .run(target.responseId, json);
      return;
    }
    this.#db
      .prepare(
        `INSERT INTO conversation_compactions (conversation_id, through_seq, context)
         SELECT ?1, COALESCE(MAX(seq), 0), ?2 FROM conversation_items WHERE conversation_id = ?1
         ON CONFLICT (conversation_id) DO UPDATE SET through_seq = excluded.through_seq, context = excluded.context`,
      )
      .run(target.conversationId, json);
  }

  /** The items of the chain ending at `id`, oldest first, from responses at most `maxDepth` back. */
  #chainItemsSync(id: string, maxDepth: number): ResponseItem[] {
    if (maxDepth < 0) return [];
    const rows = this.#db
      .prepare(
        `${chainCte}
         SELECT ri.item FROM chain c JOIN response_items ri ON ri.response_id = c.id
          ORDER BY c.depth DESC, ri.kind ASC, ri.position ASC`,
      )
      .all(id, maxDepth) as { item: string }[];
    return rows.map((r) => parseItem(r.item));
  }

  async chainRoot(id: string): Promise<string | undefined> {
    const row = this.#db.prepare('SELECT root_id FROM responses WHERE id = ?').get(id) as
      | { root_id: string }
      | undefined;
    return row?.root_id;
  }

  async listInputItems(id: string, query: ItemPageQuery): Promise<ItemPage | undefined> {
    if (!this.#db.prepare('SELECT 1 FROM responses WHERE id = ?').get(id)) return undefined;
    const rows = this.#db
      .prepare(
        `SELECT item_id, item FROM response_items WHERE response_id = ? AND kind = 'input'
          ORDER BY position ${query.order === 'asc' ? 'ASC' : 'DESC'}`,
      )
      .all(id) as { item_id: string; item: string }[];
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
    writeTransaction(this.#db, () => {
      this.#insertConversationSync(conversation, '');
      this.#appendItemsSync(conversation.id, init.items ?? []);
    });
    return conversation;
  }

  async getConversation(id: string): Promise<StoredConversation | undefined> {
    const row = this.#db.prepare('SELECT * FROM conversations WHERE id = ?').get(id) as
      | ConversationRow
      | undefined;
    return row ? toConversation(row) : undefined;
  }

  async listConversations(owner: string, limit: number): Promise<StoredConversation[]> {
    const rows = this.#db
      .prepare('SELECT * FROM conversations WHERE owner = ? ORDER BY created_at DESC, rowid DESC LIMIT ?')
      .all(owner, limit) as unknown as ConversationRow[];
    return rows.map(toConversation);
  }

  async conversationByName(name: string, owner: string): Promise<StoredConversation> {
    // Insert-if-absent then read: whoever loses a race (another connection or process) reads the winner's.
    this.#insertConversationSync(
      { id: newId('conv'), name, createdAt: Math.floor(this.#now() / 1000), metadata: {}, owner },
      'ON CONFLICT (owner, name) DO NOTHING',
    );
    const row = this.#db
      .prepare('SELECT * FROM conversations WHERE owner = ? AND name = ?')
      .get(owner, name) as unknown as ConversationRow;
    return toConversation(row);
  }

  async updateConversation(
    id: string,
    metadata: Record<string, string>,
  ): Promise<StoredConversation | undefined> {
    this.#db.prepare('UPDATE conversations SET metadata = ? WHERE id = ?').run(JSON.stringify(metadata), id);
    return this.getConversation(id);
  }

  async deleteConversation(id: string): Promise<boolean> {
    return Number(this.#db.prepare('DELETE FROM conversations WHERE id = ?').run(id).changes) > 0;
  }

  async appendConversationItems(id: string, items: ResponseItem[]): Promise<boolean> {
    if (!this.#db.prepare('SELECT 1 FROM conversations WHERE id = ?').get(id)) return false;
    writeTransaction(this.#db, () => this.#appendItemsSync(id, items));
    return true;
  }

  async conversationItems(id: string): Promise<ResponseItem[] | undefined> {
    if (!this.#db.prepare('SELECT 1 FROM conversations WHERE id = ?').get(id)) return undefined;
    const rows = this.#db
      .prepare('SELECT item FROM conversation_items WHERE conversation_id = ? ORDER BY seq')
      .all(id) as { item: string }[];
    return rows.map((r) => parseItem(r.item));
  }

  async conversationHistory(id: string): Promise<CompactedHistory | undefined> {
    if (!this.#db.prepare('SELECT 1 FROM conversations WHERE id = ?').get(id)) return undefined;
    const latest = this.#db
      .prepare('SELECT through_seq, context FROM conversation_compactions WHERE conversation_id = ?')
      .get(id) as { through_seq: number; context: string } | undefined;
    const rows = this.#db
      .prepare('SELECT item FROM conversation_items WHERE conversation_id = ? AND seq > ? ORDER BY seq')
      .all(id, latest?.through_seq ?? 0) as { item: string }[];
    return {
      compacted: latest ? (JSON.parse(latest.context) as CompactedContext) : undefined,
      items: rows.map((r) => parseItem(r.item)),
    };
  }

  async listConversationItems(id: string, query: ItemPageQuery): Promise<ItemPage | undefined> {
    if (!this.#db.prepare('SELECT 1 FROM conversations WHERE id = ?').get(id)) return undefined;
    const asc = query.order === 'asc';
    let cursor: number | undefined;
    if (query.after !== undefined) {
      const row = this.#db
        .prepare(
          'SELECT seq FROM conversation_items WHERE conversation_id = ? AND item_id = ? ORDER BY seq LIMIT 1',
        )
        .get(id, query.after) as { seq: number } | undefined;
      // An unknown cursor yields an empty page rather than restarting from the top (no endless paging).
      if (!row) return toPage([], false);
      cursor = row.seq;
    }
    const rows = this.#db
      .prepare(
        `SELECT item FROM conversation_items
          WHERE conversation_id = ? AND seq ${asc ? '>' : '<'} ?
          ORDER BY seq ${asc ? 'ASC' : 'DESC'} LIMIT ?`,
      )
      .all(id, cursor ?? (asc ? -1 : Number.MAX_SAFE_INTEGER), query.limit + 1) as { item: string }[];
    return limitedPage(rows, query);
  }

  async getConversationItem(conversationId: string, itemId: string): Promise<ResponseItem | undefined> {
    const row = this.#db
      .prepare(
        'SELECT item FROM conversation_items WHERE conversation_id = ? AND item_id = ? ORDER BY seq LIMIT 1',
      )
      .get(conversationId, itemId) as { item: string } | undefined;
    return row ? parseItem(row.item) : undefined;
  }

  async deleteConversationItem(conversationId: string, itemId: string): Promise<boolean> {
    const result = this.#db
      .prepare('DELETE FROM conversation_items WHERE conversation_id = ? AND item_id = ?')
      .run(conversationId, itemId);
    return Number(result.changes) > 0;
  }

  async markInterrupted(): Promise<number> {
    const rows = this.#db
      .prepare("SELECT id, body FROM responses WHERE status IN ('in_progress', 'queued')")
      .all() as { id: string; body: string }[];
    if (rows.length === 0) return 0;
    writeTransaction(this.#db, () => {
      const updateResponse = this.#db.prepare(
        "UPDATE responses SET status = 'incomplete', body = ? WHERE id = ?",
      );
      const outputRows = this.#db.prepare(
        "SELECT position, item FROM response_items WHERE response_id = ? AND kind = 'output'",
      );
      const updateItem = this.#db.prepare(
        "UPDATE response_items SET item = ? WHERE response_id = ? AND kind = 'output' AND position = ?",
      );
      for (const row of rows) {
        updateResponse.run(JSON.stringify(interruptedBody(JSON.parse(row.body))), row.id);
        for (const item of outputRows.all(row.id) as { position: number; item: string }[]) {
          updateItem.run(JSON.stringify(closeItem(parseItem(item.item))), row.id, item.position);
        }
      }
    });
    return rows.length;
  }

  async prune(policy: RetentionPolicy): Promise<number> {
    return this.#pruneSync(policy);
  }

  #pruneSync(policy: RetentionPolicy): number {
    const cutoff = Math.floor(this.#now() / 1000) - policy.maxAgeDays * 86_400;
    let deleted = Number(this.#db.prepare('DELETE FROM responses WHERE created_at < ?').run(cutoff).changes);
    // Keep the newest `maxStored`: everything past that offset in newest-first order goes.
    deleted += Number(
      this.#db
        .prepare(
          `DELETE FROM responses WHERE id IN (
             SELECT id FROM responses ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?
           )`,
        )
        .run(policy.maxStored).changes,
    );
    return deleted;
  }

  #insertConversationSync(conversation: StoredConversation, onConflict: string): void {
    this.#db
      .prepare(
        `INSERT INTO conversations (id, owner, name, metadata, created_at) VALUES (?, ?, ?, ?, ?) ${onConflict}`,
      )
      .run(
        conversation.id,
        conversation.owner,
        conversation.name,
        JSON.stringify(conversation.metadata),
        conversation.createdAt,
      );
  }

  #appendItemsSync(conversationId: string, items: ResponseItem[]): void {
    const insert = this.#db.prepare(
      'INSERT INTO conversation_items (conversation_id, item_id, item) VALUES (?, ?, ?)',
    );
    for (const item of items) insert.run(conversationId, item.id, JSON.stringify(item));
  }
}
