import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { migrate } from '../src/store/database.ts';
import {
  type Database,
  LOCAL_OWNER,
  openDatabase,
  type ResponseItem,
  SqliteResponseStore,
  SqliteSessionStore,
  type StoredResponse,
} from '../src/store/index.ts';
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

const msg = (id: string, role: string, text: string): ResponseItem => ({
  id,
  type: 'message',
  role,
  content: [{ type: role === 'assistant' ? 'output_text' : 'input_text', text }],
});

function response(id: string, over: Partial<StoredResponse> = {}): StoredResponse {
  return {
    id,
    status: 'completed',
    body: { id, object: 'response', status: 'completed' },
    inputItems: [msg(`msg_in_${id}`, 'user', `question ${id}`)],
    outputItems: [msg(`msg_out_${id}`, 'assistant', `answer ${id}`)],
    previousResponseId: null,
    conversationId: null,
    createdAt: 1_700_000_000,
    owner: LOCAL_OWNER,
    ...over,
  };
}

describe('SqliteResponseStore', () => {
  it('puts, gets, replaces and deletes a response', async () => {
    const store = new SqliteResponseStore(openDb(freshFile()));
    await store.put(response('resp_a', { status: 'in_progress', outputItems: [] }));
    assert.equal((await store.get('resp_a'))?.status, 'in_progress');
    await store.put(response('resp_a'));
    const got = await store.get('resp_a');
    assert.equal(got?.status, 'completed');
    assert.deepEqual(got?.outputItems, [msg('msg_out_resp_a', 'assistant', 'answer resp_a')]);
    assert.deepEqual(got?.body, { id: 'resp_a', object: 'response', status: 'completed' });
    assert.equal(await store.delete('resp_a'), true);
    assert.equal(await store.get('resp_a'), undefined);
    assert.equal(await store.delete('resp_a'), false);
    assert.equal(await store.getItem('msg_out_resp_a', LOCAL_OWNER), undefined);
  });

  it('resolves a previous_response_id chain oldest first, inputs before outputs', async () => {
    const store = new SqliteResponseStore(openDb(freshFile()));
    await store.put(response('resp_1'));
    await store.put(response('resp_2', { previousResponseId: 'resp_1' }));
    await store.put(response('resp_3', { previousResponseId: 'resp_2' }));
    const items = await store.chainItems('resp_3');
    assert.deepEqual(
      items?.map((i) => i.id),
      [
        'msg_in_resp_1',
        'msg_out_resp_1',
        'msg_in_resp_2',
        'msg_out_resp_2',
        'msg_in_resp_3',
        'msg_out_resp_3',
      ],
    );
    assert.equal(await store.chainRoot('resp_3'), 'resp_1');
    assert.equal(await store.chainItems('resp_missing'), undefined);
  });

  it('finds input and output items by id for item_reference', async () => {
    const store = new SqliteResponseStore(openDb(freshFile()));
    await store.put(response('resp_x'));
    assert.deepEqual(
      await store.getItem('msg_in_resp_x', LOCAL_OWNER),
      msg('msg_in_resp_x', 'user', 'question resp_x'),
    );
    assert.deepEqual(
      await store.getItem('msg_out_resp_x', LOCAL_OWNER),
      msg('msg_out_resp_x', 'assistant', 'answer resp_x'),
    );
    assert.equal(await store.getItem('msg_nope', LOCAL_OWNER), undefined);
  });

  it('pages input items with limit, order and after', async () => {
    const store = new SqliteResponseStore(openDb(freshFile()));
    const inputs = Array.from({ length: 5 }, (_, i) => msg(`msg_${i}`, 'user', `t${i}`));
    await store.put(response('resp_p', { inputItems: inputs }));
    const first = await store.listInputItems('resp_p', { limit: 2, order: 'desc' });
    assert.deepEqual(
      first?.data.map((i) => i.id),
      ['msg_4', 'msg_3'],
    );
    assert.equal(first?.hasMore, true);
    assert.equal(first?.firstId, 'msg_4');
    assert.equal(first?.lastId, 'msg_3');
    const last = await store.listInputItems('resp_p', { limit: 2, order: 'desc', after: 'msg_1' });
    assert.deepEqual(
      last?.data.map((i) => i.id),
      ['msg_0'],
    );
    assert.equal(last?.hasMore, false);
    const asc = await store.listInputItems('resp_p', { limit: 10, order: 'asc' });
    assert.deepEqual(
      asc?.data.map((i) => i.id),
      ['msg_0', 'msg_1', 'msg_2', 'msg_3', 'msg_4'],
    );
    assert.equal(asc?.hasMore, false);
    assert.equal(await store.listInputItems('resp_none', { limit: 2, order: 'asc' }), undefined);
  });

  it('keeps named and id conversations with their items in order', async () => {
    const store = new SqliteResponseStore(openDb(freshFile()));
    const work = await store.conversationByName('work', LOCAL_OWNER);
    assert.match(work.id, /^conv_/);
    assert.equal((await store.conversationByName('work', LOCAL_OWNER)).id, work.id);
    assert.notEqual((await store.conversationByName('home', LOCAL_OWNER)).id, work.id);
    await store.appendConversationItems(work.id, [msg('msg_a', 'user', 'a'), msg('msg_b', 'assistant', 'b')]);
    await store.appendConversationItems(work.id, [msg('msg_c', 'user', 'c')]);
    assert.deepEqual(
      (await store.conversationItems(work.id))?.map((i) => i.id),
      ['msg_a', 'msg_b', 'msg_c'],
    );
    const page = await store.listConversationItems(work.id, { limit: 2, order: 'desc' });
    assert.deepEqual(
      page?.data.map((i) => i.id),
      ['msg_c', 'msg_b'],
    );
    assert.equal(page?.hasMore, true);
    const rest = await store.listConversationItems(work.id, { limit: 2, order: 'desc', after: 'msg_b' });
    assert.deepEqual(
      rest?.data.map((i) => i.id),
      ['msg_a'],
    );
    assert.equal(rest?.hasMore, false);
    assert.deepEqual(await store.getItem('msg_b', LOCAL_OWNER), msg('msg_b', 'assistant', 'b'));

    const created = await store.createConversation({
      owner: LOCAL_OWNER,
      metadata: { topic: 'x' },
      items: [msg('msg_z', 'user', 'z')],
    });
    assert.deepEqual(created.metadata, { topic: 'x' });
    assert.deepEqual((await store.updateConversation(created.id, { topic: 'y' }))?.metadata, { topic: 'y' });
    assert.equal(await store.deleteConversationItem(created.id, 'msg_z'), true);
    assert.deepEqual(await store.conversationItems(created.id), []);
    assert.equal(await store.deleteConversation(created.id), true);
    assert.equal(await store.getConversation(created.id), undefined);
    assert.equal(await store.appendConversationItems(created.id, []), false);
  });

  it('prunes oldest first by count and by age', async () => {
    const day = 86_400;
    let now = 1_700_000_000 * 1000;
    const store = new SqliteResponseStore(openDb(freshFile()), { now: () => now });
    for (let i = 0; i < 5; i++)
      await store.put(response(`resp_${i}`, { createdAt: 1_700_000_000 - (5 - i) * day }));
    assert.equal(await store.prune({ maxStored: 3, maxAgeDays: 30 }), 2);
    assert.equal(await store.get('resp_0'), undefined);
    assert.equal(await store.get('resp_1'), undefined);
    assert.ok(await store.get('resp_2'));
    // resp_2 is 3 days old; moving the clock makes it older than 4 days, resp_3 not.
    now += 2 * day * 1000;
    assert.equal(await store.prune({ maxStored: 100, maxAgeDays: 4 }), 1);
    assert.equal(await store.get('resp_2'), undefined);
    assert.ok(await store.get('resp_3'));
  });

  it('applies retention after puts without being asked', async () => {
    const store = new SqliteResponseStore(openDb(freshFile()), {
      retention: { maxStored: 2, maxAgeDays: 36_500 },
      pruneEveryPuts: 1,
    });
    for (let i = 0; i < 4; i++) await store.put(response(`resp_${i}`, { createdAt: 1_700_000_000 + i }));
    assert.equal(await store.get('resp_1'), undefined);
    assert.ok(await store.get('resp_2'));
    assert.ok(await store.get('resp_3'));
  });

  it('survives closing and reopening the database file', async () => {
    const file = freshFile();
    const db = openDb(file);
    const store = new SqliteResponseStore(db);
    await store.put(response('resp_keep'));
    await store.put(response('resp_next', { previousResponseId: 'resp_keep' }));
    const conv = await store.conversationByName('work', LOCAL_OWNER);
    await store.appendConversationItems(conv.id, [msg('msg_k', 'user', 'k')]);
    const sessions = new SqliteSessionStore(db);
    await sessions.append('tg:1', [{ role: 'user', content: 'hi' }]);
    db.close();

    const db2 = openDb(file);
    const reopened = new SqliteResponseStore(db2);
    assert.equal((await reopened.get('resp_keep'))?.status, 'completed');
    assert.equal((await reopened.chainItems('resp_next'))?.length, 4);
    assert.equal((await reopened.conversationByName('work', LOCAL_OWNER)).id, conv.id);
    assert.deepEqual(
      (await reopened.conversationItems(conv.id))?.map((i) => i.id),
      ['msg_k'],
    );
    assert.deepEqual(await new SqliteSessionStore(db2).load('tg:1'), [{ role: 'user', content: 'hi' }]);
  });
});

describe('SqliteResponseStore ownership and recovery', () => {
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

  it("finds items by reference only among the owner's responses and conversations", async () => {
    const store = new SqliteResponseStore(openDb(freshFile()));
    await store.put(response('resp_o', { owner: 'key:alice' }));
    assert.ok(await store.getItem('msg_in_resp_o', 'key:alice'));
    assert.equal(await store.getItem('msg_in_resp_o', 'key:bob'), undefined);
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

  it('marks responses left in progress as incomplete (interrupted), keeping their partial output', async () => {
    const store = new SqliteResponseStore(openDb(freshFile()));
    const partial = { ...msg('msg_part', 'assistant', 'half an ans'), status: 'in_progress' };
    await store.put(
      response('resp_run', {
        status: 'in_progress',
        body: { id: 'resp_run', status: 'in_progress', output: [partial] },
        outputItems: [partial],
      }),
    );
    await store.put(response('resp_done'));
    assert.equal(await store.markInterrupted(), 1);
    const marked = await store.get('resp_run');
    assert.equal(marked?.status, 'incomplete');
    const closed = { ...partial, status: 'incomplete' };
    assert.deepEqual(marked?.body, {
      id: 'resp_run',
      status: 'incomplete',
      output: [closed],
      incomplete_details: { reason: 'interrupted' },
    });
    assert.deepEqual(marked?.outputItems, [closed]);
    assert.equal((await store.get('resp_done'))?.status, 'completed');
    assert.equal(await store.markInterrupted(), 0);
  });
});

describe('SqliteSessionStore', () => {
  it('appends, loads the last messages in order, counts and resets per key', async () => {
    const store = new SqliteSessionStore(openDb(freshFile()));
    await store.append('a', [
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'two' },
    ]);
    await store.append('a', [{ role: 'user', content: 'three' }]);
    await store.append('b', [{ role: 'user', content: 'other' }]);
    assert.deepEqual(
      (await store.load('a')).map((m) => m.content),
      ['one', 'two', 'three'],
    );
    assert.deepEqual(
      (await store.load('a', 2)).map((m) => m.content),
      ['two', 'three'],
    );
    assert.equal(await store.count('a'), 3);
    await store.reset('a');
    assert.equal(await store.count('a'), 0);
    assert.deepEqual(await store.load('a'), []);
    assert.equal(await store.count('b'), 1);
  });
});

describe('compaction in the stores', () => {
  const summary = (text: string) => ({ role: 'user' as const, content: `Summary: ${text}` });
  const context = (text: string) => ({ messages: [summary(text)], systemPrompts: ['layer'] });

  it('a chain loads from its nearest compaction; a branch from before it does not see it', async () => {
    const store = new SqliteResponseStore(openDb(freshFile()));
    await store.put(response('resp_1'));
    await store.put(response('resp_2', { previousResponseId: 'resp_1' }));
    await store.put(response('resp_3', { previousResponseId: 'resp_2' }));
    await store.put(response('resp_2b', { previousResponseId: 'resp_1' }));
    assert.deepEqual(await store.chainHistory('resp_3'), {
      compacted: undefined,
      items: (await store.chainItems('resp_3')) ?? [],
    });

    await store.saveCompaction({ responseId: 'resp_2' }, context('through 2'));
    const fromThree = await store.chainHistory('resp_3');
    assert.deepEqual(fromThree?.compacted, context('through 2'));
    assert.deepEqual(
      fromThree?.items.map((i) => i.id),
      ['msg_in_resp_3', 'msg_out_resp_3'],
    );
    const atTwo = await store.chainHistory('resp_2');
    assert.deepEqual(atTwo?.items, [], 'the compaction stands for its own response too');
    const branch = await store.chainHistory('resp_2b');
    assert.equal(branch?.compacted, undefined);
    assert.equal(branch?.items.length, 4);
    assert.equal(await store.chainHistory('resp_missing'), undefined);

    await store.delete('resp_2');
    assert.equal((await store.chainHistory('resp_3'))?.compacted, undefined, 'deleted with its response');
  });

  it('a conversation loads its compaction and only the items added after it', async () => {
    const store = new SqliteResponseStore(openDb(freshFile()));
    const conversation = await store.createConversation({
      owner: LOCAL_OWNER,
      items: [msg('m1', 'user', 'one')],
    });
    await store.appendConversationItems(conversation.id, [msg('m2', 'assistant', 'two')]);
    await store.saveCompaction({ conversationId: conversation.id }, context('through two'));
    await store.appendConversationItems(conversation.id, [msg('m3', 'user', 'three')]);
    const history = await store.conversationHistory(conversation.id);
    assert.deepEqual(history?.compacted, context('through two'));
    assert.deepEqual(
      history?.items.map((i) => i.id),
      ['m3'],
    );
  });

  it('a session loads its summary and the messages after it; every message stays stored', async () => {
    const store = new SqliteSessionStore(openDb(freshFile()));
    const messages = ['a', 'b', 'c', 'd'].map((content) => ({ role: 'user' as const, content }));
    await store.append('tg:1', messages);
    await store.compact('tg:1', summary('a b'), 2);
    assert.deepEqual(await store.load('tg:1'), [summary('a b'), messages[2], messages[3]]);
    assert.deepEqual(await store.load('tg:1', 1), [summary('a b'), messages[3]]);
    assert.equal(await store.count('tg:1'), 4);
    await store.compact('tg:1', summary('a b c d'), 0);
    assert.deepEqual(await store.load('tg:1'), [summary('a b c d')]);
    await store.reset('tg:1');
    assert.deepEqual(await store.load('tg:1'), []);
  });
});
