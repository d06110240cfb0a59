import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { migrate } from '../src/store/database.ts';
import { type Database, LOCAL_OWNER, openDatabase, SqliteResponseStore } from '../src/store/index.ts';
import { responseStoreMigrations } from '../src/store/sqlite-response-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
const open: Database[] = [];
after(() => {
  for (const db of open) if (db.isOpen) db.close();
  rmSync(dir, { recursive: true, force: true });
});

let fileCounter = 0;
function freshFile(): string {
  return join(dir, `db-${++fileCounter}.db`);
}
function openDb(file: string): Database {
  const db = openDatabase(file);
  open.push(db);
  return db;
}

describe('SqliteResponseStore (SQLite only; the shared behaviour is in store-contract.ts)', () => {
  it('upgrades a database from before ownership: old rows belong to the keyless owner, items kept', async () => {
    const file = freshFile();
    const old = openDb(file);
    migrate(old, 'responses', responseStoreMigrations.slice(0, 1));
    old.exec(`INSERT INTO conversations (id, name, metadata, created_at) VALUES ('conv_old', 'work', '{}', 1);
      INSERT INTO conversation_items (conversation_id, item_id, item) VALUES ('conv_old', 'msg_o', '{"id":"msg_o","type":"message"}');
      INSERT INTO responses (id, status, body, previous_response_id, root_id, conversation_id, created_at)
        VALUES ('resp_old', 'completed', '{}', NULL, 'resp_old', NULL, 1);`);
    old.close();
    const store = new SqliteResponseStore(openDb(file));
    assert.equal((await store.get('resp_old'))?.owner, LOCAL_OWNER);
    assert.equal((await store.conversationByName('work', LOCAL_OWNER)).id, 'conv_old');
    assert.deepEqual(
      (await store.conversationItems('conv_old'))?.map((i) => i.id),
      ['msg_o'],
    );
    assert.notEqual((await store.conversationByName('work', 'key:bob')).id, 'conv_old');
  });

  it('gives every connection the same conversation for a name when first uses race on two threads', async () => {
    const file = freshFile();
    new SqliteResponseStore(openDb(file));
    const names = Array.from({ length: 2000 }, (_, i) => `race-${i}`);
    const start = new Int32Array(new SharedArrayBuffer(4));
    const workers = [0, 1].map(
      () =>
        new Worker(new URL('./support/conversation-name-worker.ts', import.meta.url), {
          workerData: { file, names, start },
        }),
    );
    const results = workers.map(
      (worker) =>
        new Promise<{ ids?: string[]; error?: string }>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    );
    Atomics.store(start, 0, 1);
    Atomics.notify(start, 0);
    const [one, two] = await Promise.all(results);
    await Promise.all(workers.map((w) => w.terminate()));
    assert.equal(one?.error, undefined);
    assert.equal(two?.error, undefined);
    assert.deepEqual(one?.ids, two?.ids);
  });
});
