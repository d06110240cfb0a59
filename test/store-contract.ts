/**
 * The store contract: every behaviour callers rely on, asserted against any backend. Run once per
 * backend by test/store-contract.test.ts (SQLite and PostgreSQL), so the two stores cannot drift apart.
 * Backend-specific behaviour (SQLite's schema upgrade and group commit, PostgreSQL's leases and locks)
 * is tested beside each backend instead.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LOCAL_OWNER, type ResponseItem, type StoredResponse, type StoredRun } from '../src/store/index.ts';
import type { ResponseStoreOptions, StoreBackend } from './support/store-backends.ts';

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

const transcriptState = (sessionId: string, hash: string, text: string) => ({
  sessionId,
  scope: 'scope-a',
  visibleTurns: [`user:${text}`],
  visibleHash: hash,
  messages: [{ role: 'user' as const, content: text }],
});

function run(id: string, over: Partial<StoredRun> = {}): StoredRun {
  return {
    id,
    owner: 'key:alice',
    status: 'queued',
    createdAt: 1_700_000_000,
    model: 'herald',
    responseId: `resp_of_${id}`,
    usage: null,
    outputText: null,
    error: null,
    ...over,
  };
}

export function storeContract(backend: StoreBackend): void {
  describe(`store contract on ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.closeAll());
    const responses = async (options?: ResponseStoreOptions) => (await backend.fresh()).responses(options);

    describe('ResponseStore', () => {
      it('puts, gets, replaces and deletes a response', async () => {
        const store = await responses();
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
        const store = await responses();
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
        const store = await responses();
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
        const store = await responses();
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
        const store = await responses();
        const work = await store.conversationByName('work', LOCAL_OWNER);
        assert.match(work.id, /^conv_/);
        assert.equal((await store.conversationByName('work', LOCAL_OWNER)).id, work.id);
        assert.notEqual((await store.conversationByName('home', LOCAL_OWNER)).id, work.id);
        await store.appendConversationItems(work.id, [
          msg('msg_a', 'user', 'a'),
          msg('msg_b', 'assistant', 'b'),
        ]);
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
        assert.deepEqual((await store.updateConversation(created.id, { topic: 'y' }))?.metadata, {
          topic: 'y',
        });
        assert.equal(await store.deleteConversationItem(created.id, 'msg_z'), true);
        assert.deepEqual(await store.conversationItems(created.id), []);
        assert.equal(await store.deleteConversation(created.id), true);
        assert.equal(await store.getConversation(created.id), undefined);
        assert.equal(await store.appendConversationItems(created.id, []), false);
      });

      it('prunes oldest first by count and by age', async () => {
        const day = 86_400;
        let now = 1_700_000_000 * 1000;
        const store = await responses({ now: () => now });
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
        const store = await responses({ retention: { maxStored: 2, maxAgeDays: 36_500 }, pruneEveryPuts: 1 });
        for (let i = 0; i < 4; i++) await store.put(response(`resp_${i}`, { createdAt: 1_700_000_000 + i }));
        assert.equal(await store.get('resp_1'), undefined);
        assert.ok(await store.get('resp_2'));
        assert.ok(await store.get('resp_3'));
      });

      it("finds items by reference only among the owner's responses and conversations", async () => {
        const store = await responses();
        await store.put(response('resp_o', { owner: 'key:alice' }));
        assert.ok(await store.getItem('msg_in_resp_o', 'key:alice'));
        assert.equal(await store.getItem('msg_in_resp_o', 'key:bob'), undefined);
      });

      it('marks responses a previous process left in progress as incomplete (interrupted), keeping their partial output', async () => {
        const previous = await backend.fresh();
        const before = await previous.responses();
        const partial = { ...msg('msg_part', 'assistant', 'half an ans'), status: 'in_progress' };
        await before.put(
          response('resp_run', {
            status: 'in_progress',
            body: { id: 'resp_run', status: 'in_progress', output: [partial] },
            outputItems: [partial],
          }),
        );
        await before.put(response('resp_done'));
        await previous.close();
        const store = await (await previous.connect()).responses();
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

      it('keeps everything across a second connection (a restart, another replica)', async () => {
        const first = await backend.fresh();
        const store = await first.responses();
        await store.put(response('resp_keep'));
        await store.put(response('resp_next', { previousResponseId: 'resp_keep' }));
        const conv = await store.conversationByName('work', LOCAL_OWNER);
        await store.appendConversationItems(conv.id, [msg('msg_k', 'user', 'k')]);
        await (await first.sessions()).append('tg:1', [{ role: 'user', content: 'hi' }]);
        const transcripts = await first.transcripts();
        const sessionId = transcripts.newSessionId();
        await transcripts.save(transcriptState(sessionId, 'h', 'kept'));
        await first.close();

        const second = await first.connect();
        const reopened = await second.responses();
        assert.equal((await reopened.get('resp_keep'))?.status, 'completed');
        assert.equal((await reopened.chainItems('resp_next'))?.length, 4);
        assert.equal(await reopened.chainRoot('resp_next'), 'resp_keep');
        assert.equal((await reopened.conversationByName('work', LOCAL_OWNER)).id, conv.id);
        assert.deepEqual(
          (await reopened.conversationItems(conv.id))?.map((i) => i.id),
          ['msg_k'],
        );
        assert.deepEqual(await (await second.sessions()).load('tg:1'), [{ role: 'user', content: 'hi' }]);
        assert.equal(
          (await (await second.transcripts()).getSession(sessionId, 'scope-a'))?.messages[0]?.content,
          'kept',
        );
      });

      it('gives two connections racing on first uses of the same names the same conversations', async () => {
        const one = await backend.fresh();
        const two = await one.connect();
        const [a, b] = [await one.responses(), await two.responses()];
        const names = Array.from({ length: 200 }, (_, i) => `race-${i}`);
        const resolveAll = (store: typeof a) =>
          Promise.all(names.map(async (name) => (await store.conversationByName(name, 'o')).id));
        const [idsA, idsB] = await Promise.all([resolveAll(a), resolveAll(b)]);
        assert.deepEqual(idsA, idsB);
        assert.equal(new Set(idsA).size, names.length);
      });

      it("lists an owner's conversations newest first, up to the limit", async () => {
        let now = 1_700_000_000_000;
        const store = await responses({ now: () => now });
        const made = [];
        for (let i = 0; i < 3; i++) {
          made.push(await store.createConversation({ owner: 'key:alice' }));
          now += 1000;
        }
        await store.createConversation({ owner: 'key:bob' });
        assert.deepEqual(
          (await store.listConversations('key:alice', 2)).map((c) => c.id),
          [made[2]!.id, made[1]!.id],
        );
      });
    });

    describe('SessionStore', () => {
      it('appends, loads the last messages in order, counts and resets per key', async () => {
        const store = await (await backend.fresh()).sessions();
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

    describe('TranscriptStore', () => {
      it('finds a session by id (latest or by visible hash) and by visible hash within its scope', async () => {
        const store = await (await backend.fresh()).transcripts();
        const id = store.newSessionId();
        assert.match(id, /^hs_[a-f0-9]{32}$/);
        await store.save(transcriptState(id, 'h1', 'first'));
        await store.save(transcriptState(id, 'h2', 'second'));
        assert.equal((await store.getSession(id, 'scope-a'))?.visibleHash, 'h2');
        assert.equal((await store.getSession(id, 'scope-a', 'h1'))?.messages[0]?.content, 'first');
        assert.equal((await store.getSession(id, 'scope-a', 'unknown'))?.visibleHash, 'h2');
        assert.equal(await store.getSession(id, 'scope-b'), undefined, 'another scope cannot read it');
        assert.equal((await store.findByVisibleHash('scope-a', 'h1'))?.sessionId, id);
        assert.deepEqual((await store.findByVisibleHash('scope-a', 'h1'))?.visibleTurns, ['user:first']);
        assert.equal(await store.findByVisibleHash('scope-b', 'h1'), undefined);
      });

      it('prunes sessions untouched for longer than max age', async () => {
        let now = 1_000_000_000_000;
        const store = await (await backend.fresh()).transcripts({ now: () => now });
        const old = store.newSessionId();
        await store.save(transcriptState(old, 'h-old', 'old'));
        now += 10 * 24 * 60 * 60 * 1000;
        const fresh = store.newSessionId();
        await store.save(transcriptState(fresh, 'h-new', 'new'));
        assert.equal(await store.prune({ maxAgeDays: 5 }), 1);
        assert.equal(await store.getSession(old, 'scope-a'), undefined);
        assert.equal(await store.findByVisibleHash('scope-a', 'h-old'), undefined);
        assert.ok(await store.getSession(fresh, 'scope-a'));
      });

      it('fails a save that cannot be stored alone, leaving nothing behind', async () => {
        const store = await (await backend.fresh()).transcripts();
        const id = store.newSessionId();
        const other = store.newSessionId();
        const broken = {
          ...transcriptState(other, 'hx', 'broken'),
          messages: [{ role: 'user' as const, content: 1n as never }],
        };
        const results = await Promise.allSettled([
          store.save(transcriptState(id, 'h1', 'first')),
          store.save(broken),
          store.save(transcriptState(id, 'h2', 'second')),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        assert.equal((await store.getSession(id, 'scope-a', 'h1'))?.messages[0]?.content, 'first');
        assert.equal(await store.getSession(other, 'scope-a'), undefined);
      });
    });

    describe('RunStore', () => {
      it("creates, updates and reads runs; keeps each run's events in order after a given seq", async () => {
        const store = await (await backend.fresh()).runs();
        const usage = { promptTokens: 3, completionTokens: 2, totalTokens: 5, estimated: false };
        await store.create(run('run_a'));
        await store.create(run('run_b', { owner: 'key:bob' }));
        const first = await store.appendEvent('run_a', 'run.started', { run_id: 'run_a' });
        await store.appendEvent('run_b', 'run.started', { run_id: 'run_b' });
        const delta = await store.appendEvent('run_a', 'message.delta', { delta: 'hi' });
        assert.ok(delta.seq > first.seq);
        await store.update('run_a', {
          status: 'completed',
          usage,
          outputText: 'hi',
        });
        await store.update('run_a', {});
        const stored = await store.get('run_a');
        assert.deepEqual(stored, {
          ...run('run_a'),
          status: 'completed',
          usage,
          outputText: 'hi',
        });
        assert.equal((await store.get('run_b'))?.owner, 'key:bob');
        assert.equal(await store.get('run_missing'), undefined);
        assert.deepEqual(
          (await store.events('run_a', 0)).map((e) => [e.type, e.data]),
          [
            ['run.started', { run_id: 'run_a' }],
            ['message.delta', { delta: 'hi' }],
          ],
        );
        assert.deepEqual(await store.events('run_a', first.seq), [delta]);
      });

      it("marks a previous process's unfinished runs interrupted, with a final event, and leaves ended runs alone", async () => {
        const previous = await backend.fresh();
        const before = await previous.runs();
        await before.create(run('run_live', { status: 'running' }));
        await before.create(run('run_waiting', { status: 'waiting_for_approval' }));
        await before.create(run('run_done', { status: 'completed' }));
        await previous.close();
        const store = await (await previous.connect()).runs();
        assert.equal(await store.markInterrupted(), 2);
        assert.equal((await store.get('run_live'))?.status, 'interrupted');
        assert.equal((await store.get('run_waiting'))?.status, 'interrupted');
        assert.equal((await store.get('run_done'))?.status, 'completed');
        assert.deepEqual(
          (await store.events('run_live', 0)).map((e) => [e.type, e.data]),
          [['run.interrupted', { run_id: 'run_live', status: 'interrupted' }]],
        );
        assert.equal(await store.markInterrupted(), 0);
      });
    });

    describe('ApprovalRuleStore', () => {
      it('keeps `always` answers across connections; adding twice is harmless', async () => {
        const first = await backend.fresh();
        const rules = await first.approvalRules();
        assert.equal(await rules.has('terminal:recursive-delete:rm'), false);
        await rules.add('terminal:recursive-delete:rm');
        await rules.add('terminal:recursive-delete:rm');
        assert.equal(await rules.has('terminal:recursive-delete:rm'), true);
        assert.equal(await rules.has('terminal:other'), false);
        const second = await first.connect();
        assert.equal(await (await second.approvalRules()).has('terminal:recursive-delete:rm'), true);
      });
    });

    describe('PairingStore', () => {
      it('mints one code per person, pairs on approve, stays silent after deny, forgets expired codes', async () => {
        let now = 1_700_000_000_000;
        const connection = await backend.fresh();
        const store = await connection.pairing({ ttlMs: 60_000, now: () => now });
        const first = await store.request('telegram', 'u1', 'ann');
        assert.equal(first.fresh, true);
        assert.match(first.request.code, /^[A-HJKMNP-Z2-9]{6}$/);
        assert.deepEqual(await store.request('telegram', 'u1', 'ann'), {
          request: first.request,
          fresh: false,
        });
        now += 1;
        const other = await store.request('discord', 'u1');
        assert.notEqual(other.request.code, first.request.code);
        assert.deepEqual(
          (await store.pending()).map((r) => r.code),
          [first.request.code, other.request.code],
        );

        assert.equal(await store.isPaired('telegram', 'u1'), false);
        const approved = await store.approve(first.request.code.toLowerCase());
        assert.equal(approved?.userName, 'ann');
        assert.equal(await store.isPaired('telegram', 'u1'), true);
        assert.equal(await store.approve(first.request.code), undefined, 'a code pairs once');

        assert.equal((await store.deny(other.request.code))?.status, 'denied');
        assert.deepEqual(await store.pending(), []);
        assert.equal((await store.request('discord', 'u1')).fresh, false, 'denied: no new code');
        assert.equal(await store.approve(other.request.code), undefined);

        now += 61_000;
        const again = await store.request('discord', 'u1');
        assert.equal(again.fresh, true, 'the denied code expired');
        assert.equal(await store.approve('NOPE22'), undefined);
        const reopened = await (await connection.connect()).pairing({ now: () => now });
        assert.equal(await reopened.isPaired('telegram', 'u1'), true);
      });

      it('gives two connections racing for the same person one code', async () => {
        const one = await backend.fresh();
        const two = await one.connect();
        const [a, b] = [await one.pairing(), await two.pairing()];
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).request('slack', 'racer')),
        );
        assert.equal(new Set(results.map((r) => r.request.code)).size, 1);
        assert.equal(results.filter((r) => r.fresh).length, 1);
      });
    });

    describe('compaction', () => {
      const summary = (text: string) => ({ role: 'user' as const, content: `Summary: ${text}` });
      const context = (text: string) => ({ messages: [summary(text)], systemPrompts: ['layer'] });

      it('a chain loads from its nearest compaction; a branch from before it does not see it', async () => {
        const store = await responses();
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
        const store = await responses();
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
        const store = await (await backend.fresh()).sessions();
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
  });
}
