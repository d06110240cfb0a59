/**
 * The PostgreSQL `ApprovalRuleStore`: `always` answers to approval requests in the shared database,
 * so an `always` given through one replica holds on every replica and outlives them all. Like the
 * SQLite store it does not know what a pattern means.
 */
import { migratePostgres, type PostgresPool } from './postgres-database.ts';
import type { ApprovalRuleStore } from './types.ts';

const steps = [
  `CREATE TABLE approval_rules (
     pattern TEXT PRIMARY KEY,
     created_at BIGINT NOT NULL
   );`,
];

export class PostgresApprovalRuleStore implements ApprovalRuleStore {
  readonly #pool: PostgresPool;

  private constructor(pool: PostgresPool) {
    this.#pool = pool;
  }

  static async open(pool: PostgresPool): Promise<PostgresApprovalRuleStore> {
    await migratePostgres(pool, 'approval_rules', steps);
    return new PostgresApprovalRuleStore(pool);
  }

  async has(pattern: string): Promise<boolean> {
    const { rows } = await this.#pool.query('SELECT 1 FROM approval_rules WHERE pattern = $1', [pattern]);
    return rows.length > 0;
  }

  async add(pattern: string): Promise<void> {
    await this.#pool.query(
      'INSERT INTO approval_rules (pattern, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [pattern, Date.now()],
    );
  }
}
