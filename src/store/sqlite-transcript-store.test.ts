import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from './database.ts';
import { SqliteTranscriptStore } from './sqlite-transcript-store.ts';

function tempStore(t: { after: (fn: () => void) => void }, now?: () => number) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-transcripts-'));
  const file = join(dir, 'herald.db');
  const db = openDatabase(file);
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store: new SqliteTranscriptStore(db, now ? { now } : {}), file, db };
}

const state = (sessionId: string, hash: string, text: string) => ({
  sessionId,
  scope: 'scope-a',
  visibleTurns: [`user:${text}`],
  visibleHash: hash,
  messages: [{ role: 'user' as const, content: text }],
});

test('saves made together are committed together, in order, and one failing save fails alone', async (t) => {
  const { store } = tempStore(t);
  const id = store.newSessionId();
  const other = store.newSessionId();
  const broken = {
    ...state(other, 'hx', 'broken'),
    messages: [{ role: 'user' as const, content: 1n as never }],
  };
  const results = await Promise.allSettled([
    store.save(state(id, 'h1', 'first')),
    store.save(broken),
    store.save(state(id, 'h2', 'second')),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.equal((await store.getSession(id, 'scope-a'))?.visibleHash, 'h2', 'the later save is the latest');
  assert.equal((await store.getSession(id, 'scope-a', 'h1'))?.messages[0]?.content, 'first');
  assert.equal(await store.getSession(other, 'scope-a'), undefined, 'the failed save left nothing behind');
});
