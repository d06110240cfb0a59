/**
 * `herald store copy`: a single-node SQLite home filled through the real stores (responses with a
 * chain and a compaction, conversations with items and a compaction, chat sessions with a summary,
 * transcripts, runs with events, `always` rules, pairing) is copied into an empty PostgreSQL database
 * and read back through the PostgreSQL stores with the same ids, owners and order. A second copy
 * copies nothing; a target holding different data under the same id is refused with nothing written,
 * unless --force.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { CliError } from '../src/cli/cli-error.ts';
import { copyStore } from '../src/cli/store-command.ts';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { silentLogger } from '../src/logger.ts';
import {
  openDatabase,
  openStores,
  type ResponseItem,
  SqliteApprovalRuleStore,
  SqlitePairingStore,
  SqliteResponseStore,
  SqliteRunStore,
  SqliteSessionStore,
  SqliteTranscriptStore,
  type StoredResponse,
  type Stores,
} from '../src/store/index.ts';
import { freshDatabaseUrl, postgresSkipReason } from './support/postgres.ts';

const msg = (id: string, role: string, text: string): ResponseItem => ({
  id,
  type: 'message',
  role,
  content: [{ type: role === 'assistant' ? 'output_text' : 'input_text', text }],
});

function response(id: string, owner: string, over: Partial<StoredResponse> = {}): StoredResponse {
  return {
    id,
    status: 'completed',
    body: { id, object: 'response', status: 'completed' },
    inputItems: [msg(`msg_in_${id}`, 'user', `question ${id}`)],
    outputItems: [msg(`msg_out_${id}`, 'assistant', `answer ${id}`)],
    previousResponseId: null,
    conversationId: null,
    createdAt: 1_700_000_000,
    owner,
    ...over,
  };
}

describe('herald store copy', { skip: postgresSkipReason() }, () => {
  const home = mkdtempSync(join(tmpdir(), 'herald-copy-'));
  const file = join(home, 'herald.db');
  const opened: Stores[] = [];
  after(async () => {
    for (const stores of opened) await stores.close();
    rmSync(home, { recursive: true, force: true });
  });
  const config: HeraldConfig = { ...configSchema.parse({}), home };
  const copy = async (url: string, force = false) => {
    const output = new PassThrough();
    let text = '';
    output.on('data', (part: Buffer) => {
      text += part.toString();
    });
    await copyStore(config, silentLogger(), { from: `sqlite:${file}`, to: url, force }, output);
    return text;
  };

  it('moves everything with the same ids, owners and order; a second copy copies nothing', async () => {
    const db = openDatabase(file);
    const responses = new SqliteResponseStore(db);
    const sessions = new SqliteSessionStore(db);
    const transcripts = new SqliteTranscriptStore(db);
    const runs = new SqliteRunStore(db);
    await responses.put(response('resp_1', 'key:alice'));
    await responses.put(response('resp_2', 'key:alice', { previousResponseId: 'resp_1' }));
    await responses.put(response('resp_3', 'key:alice', { previousResponseId: 'resp_2' }));
    await responses.saveCompaction(
      { responseId: 'resp_2' },
      { messages: [{ role: 'user', content: 'Summary: 1 and 2' }], systemPrompts: ['layer'] },
    );
    await responses.put(response('resp_bob', 'key:bob', { createdAt: 1_700_000_100 }));
    const work = await responses.conversationByName('work', 'key:alice');
    await responses.appendConversationItems(work.id, [
      msg('m1', 'user', 'one'),
      msg('m2', 'assistant', 'two'),
    ]);
    await responses.saveCompaction(
      { conversationId: work.id },
      { messages: [{ role: 'user', content: 'Summary: one two' }], systemPrompts: [] },
    );
    await responses.appendConversationItems(work.id, [msg('m3', 'user', 'three')]);
    const other = await responses.createConversation({ owner: 'key:alice', metadata: { topic: 'x' } });
    await sessions.append('telegram:1', [
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
    ]);
    await sessions.compact('telegram:1', { role: 'user', content: 'Summary: a b' }, 1);
    await sessions.append('discord:2', [{ role: 'user', content: 'hello' }]);
    const sessionId = transcripts.newSessionId();
    const state = (hash: string, text: string) => ({
      sessionId,
      scope: 'key:alice',
      visibleTurns: [`user:${text}`],
      visibleHash: hash,
      messages: [{ role: 'user' as const, content: text }],
    });
    await transcripts.save(state('h1', 'first'));
    await transcripts.save(state('h2', 'second'));
    await runs.create({
      id: 'run_1',
      owner: 'key:alice',
      status: 'completed',
      createdAt: 1_700_000_200,
      model: 'herald',
      responseId: 'resp_3',
      usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5, estimated: false },
      outputText: 'done',
      error: null,
    });
    await runs.appendEvent('run_1', 'run.started', { run_id: 'run_1', status: 'running' });
    await runs.appendEvent('run_1', 'message.delta', { delta: 'done' });
    await runs.appendEvent('run_1', 'run.completed', { run_id: 'run_1', status: 'completed' });
    await new SqliteApprovalRuleStore(db).add('terminal:recursive-delete:rm');
    const pairing = new SqlitePairingStore(db);
    const code = (await pairing.request('telegram', 'u1', 'ann')).request.code;
    await pairing.approve(code);
    const pending = (await pairing.request('discord', 'u2')).request;

    const url = await freshDatabaseUrl();
    const printed = await copy(url);
    assert.match(printed, /responses +4 copied, 0 already there/);
    assert.match(printed, /conversations +2 copied/);
    assert.match(printed, /sessions +2 copied/);
    assert.match(printed, /runs +1 copied/);

    const pg = await openStores({ sqliteFile: file, url, poolSize: 2, leaseMs: 30_000, maxTurnHolders: 1 });
    opened.push(pg);
    for (const id of ['resp_1', 'resp_2', 'resp_3', 'resp_bob']) {
      assert.deepEqual(await pg.responses.get(id), await responses.get(id), id);
    }
    assert.deepEqual(await pg.responses.chainItems('resp_3'), await responses.chainItems('resp_3'));
    assert.deepEqual(await pg.responses.chainHistory('resp_3'), await responses.chainHistory('resp_3'));
    assert.equal(await pg.responses.chainRoot('resp_3'), 'resp_1');
    assert.deepEqual(
      await pg.responses.getItem('msg_in_resp_2', 'key:alice'),
      msg('msg_in_resp_2', 'user', 'question resp_2'),
    );
    assert.deepEqual(
      await pg.responses.listConversations('key:alice', 10),
      await responses.listConversations('key:alice', 10),
    );
    assert.equal((await pg.responses.conversationByName('work', 'key:alice')).id, work.id);
    assert.deepEqual(
      await pg.responses.conversationItems(work.id),
      await responses.conversationItems(work.id),
    );
    assert.deepEqual(
      await pg.responses.conversationHistory(work.id),
      await responses.conversationHistory(work.id),
    );
    assert.deepEqual((await pg.responses.getConversation(other.id))?.metadata, { topic: 'x' });
    for (const key of ['telegram:1', 'discord:2']) {
      assert.deepEqual(await pg.sessions.load(key), await sessions.load(key), key);
      assert.equal(await pg.sessions.count(key), await sessions.count(key));
    }
    assert.deepEqual(
      await pg.transcripts.getSession(sessionId, 'key:alice'),
      await transcripts.getSession(sessionId, 'key:alice'),
    );
    assert.deepEqual(
      await pg.transcripts.getSession(sessionId, 'key:alice', 'h1'),
      await transcripts.getSession(sessionId, 'key:alice', 'h1'),
    );
    assert.deepEqual(await pg.runs.get('run_1'), await runs.get('run_1'));
    assert.deepEqual(
      (await pg.runs.events('run_1', 0)).map((e) => [e.type, e.data]),
      (await runs.events('run_1', 0)).map((e) => [e.type, e.data]),
    );
    assert.equal(await pg.approvalRules.has('terminal:recursive-delete:rm'), true);
    assert.equal(await pg.pairing.isPaired('telegram', 'u1'), true);
    assert.deepEqual(await pg.pairing.pending(), [pending]);

    const again = await copy(url);
    for (const line of again.trim().split('\n').slice(1))
      assert.match(line, / 0 copied, \d+ already there$/, line);
    db.close();
  });

  it('refuses a target with different data under the same ids, writing nothing, unless --force', async () => {
    const db = openDatabase(file);
    const responses = new SqliteResponseStore(db);
    const url = await freshDatabaseUrl();
    await copy(url);
    await responses.put(response('resp_new', 'key:alice'));
    const pg = await openStores({ sqliteFile: file, url, poolSize: 2, leaseMs: 30_000, maxTurnHolders: 1 });
    opened.push(pg);
    await pg.responses.put(response('resp_1', 'key:alice', { body: { id: 'resp_1', edited: true } }));

    await assert.rejects(copy(url), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.code, 'store_conflict');
      assert.match(error.message, /1 responses \(resp_1\).*--force/);
      return true;
    });
    assert.equal(await pg.responses.get('resp_new'), undefined, 'nothing was written');

    assert.match(await copy(url, true), /responses +1 copied, \d+ already there, 1 replaced/);
    assert.deepEqual(await pg.responses.get('resp_1'), await responses.get('resp_1'));
    assert.ok(await pg.responses.get('resp_new'));
    db.close();
  });
});
