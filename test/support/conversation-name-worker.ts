/**
 * A worker thread for the store's cross-connection race test: opens its own connection to the database
 * file in `workerData.file`, waits for the shared start signal, then resolves `workerData.names` as
 * conversation names as fast as it can and posts back the ids (or the first error's message).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, SqliteResponseStore } from '../../src/store/index.ts';

const { file, names, start } = workerData as { file: string; names: string[]; start: Int32Array };
const db = openDatabase(file);
const store = new SqliteResponseStore(db);
Atomics.wait(start, 0, 0);
try {
  const ids: string[] = [];
  for (const name of names) ids.push((await store.conversationByName(name, 'o')).id);
  parentPort!.postMessage({ ids });
} catch (error) {
  parentPort!.postMessage({ error: String(error) });
} finally {
  db.close();
}
