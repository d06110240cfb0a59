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

test('finds a session by id (latest or by visible hash) and by visible hash within its scope', async (t) => {
  const { store } = tempStore(t);
  const id = store.newSessionId();
  assert.match(id, /^hs_[a-f0-9]{32}$/);
  await store.save(state(id, 'h1', 'first'));
  await store.save(state(id, 'h2', 'second'));
  assert.equal((await store.getSession(id, 'scope-a'))?.visibleHash, 'h2');
  assert.equal((await store.getSession(id, 'scope-a', 'h1'))?.messages[0]?.content, 'first');
  assert.equal((await store.getSession(id, 'scope-a', 'unknown'))?.visibleHash, 'h2');
  assert.equal(await store.getSession(id, 'scope-b'), undefined, 'another scope cannot read it');
  assert.equal((await store.findByVisibleHash('scope-a', 'h1'))?.sessionId, id);
  assert.deepEqual((await store.findByVisibleHash('scope-a', 'h1'))?.visibleTurns, ['user:first']);
  assert.equal(await store.findByVisibleHash('scope-b', 'h1'), undefined);
});

test('transcripts survive reopening the database file', async (t) => {
  const { store, file } = tempStore(t);
  const id = store.newSessionId();
  await store.save(state(id, 'h', 'kept'));
  const db2 = openDatabase(file);
  t.after(() => db2.close());
  const reopened = new SqliteTranscriptStore(db2);
  assert.equal((await reopened.getSession(id, 'scope-a'))?.messages[0]?.content, 'kept');
});

test('prune drops sessions untouched for longer than max age', async (t) => {
  let now = 1_000_000_000_000;
  const { store } = tempStore(t, () => now);
  const old = store.newSessionId();
  await store.save(state(old, 'h-old', 'old'));
  now += 10 * 24 * 60 * 60 * 1000;
  const fresh = store.newSessionId();
  await store.save(state(fresh, 'h-new', 'new'));
  assert.equal(await store.prune({ maxAgeDays: 5 }), 1);
  assert.equal(await store.getSession(old, 'scope-a'), undefined);
  assert.equal(await store.findByVisibleHash('scope-a', 'h-old'), undefined);
  assert.ok(await store.getSession(fresh, 'scope-a'));
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
