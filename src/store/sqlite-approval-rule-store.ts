/**
 * The `always` answers to approval requests, kept in herald.db so they outlive the process: one row
 * per approved pattern (`terminal:recursive-delete:rm`), shared by `herald serve` and `herald chat`.
 * It does not know what a pattern means; the approval policy makes them.
 */
import { type Database, migrate } from './database.ts';
import type { ApprovalRuleStore } from './types.ts';

const steps = [
  `CREATE TABLE approval_rules (
     pattern TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL
   );`,
];

export class SqliteApprovalRuleStore implements ApprovalRuleStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
    migrate(db, 'approval_rules', steps);
  }

  async has(pattern: string): Promise<boolean> {
    return this.#db.prepare('SELECT 1 FROM approval_rules WHERE pattern = ?').get(pattern) !== undefined;
  }

  async add(pattern: string): Promise<void> {
    this.#db
      .prepare('INSERT INTO approval_rules (pattern, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING')
      .run(pattern, Date.now());
  }
}
