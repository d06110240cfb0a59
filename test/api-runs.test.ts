/**
 * The runs API end to end: the real server, agent and terminal tool against the scripted upstream,
 * driven over HTTP. A dangerous command (`rm -rf`) waits for approval; approving runs it, denying,
 * a timeout or a stop refuses it with a tool result the model reads; the event stream resumes after
 * `Last-Event-ID` without gaps or repeats; a restart while waiting leaves the run `interrupted`;
 * another key sees nothing; Chat Completions (no asker) refuses the same command with an explanation.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, SqliteRunStore } from '../src/store/index.ts';
import { startTestServer, type TestServer } from './api-test-server.ts';
import { readRunEvents } from './support/run-events.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

const keyA = 'key-a-runs';
const keyB = 'key-b-runs';

async function api(h: { url: string }, method: string, path: string, body?: unknown, key = keyA) {
  const response = await fetch(`${h.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  return { status: response.status, body: (await response.json()) as any };
}

/** Scripts a turn that runs `rm -rf build` in the workspace, then a final answer. */
function scriptDangerousTurn(h: TestServer, answer = 'All done.') {
  mkdirSync(join(h.home, 'workspace', 'build'), { recursive: true });
  h.upstream.enqueue(
    { toolCalls: [{ id: 'call_rm', name: 'terminal', arguments: { command: 'rm -rf build' } }] },
    { text: answer },
  );
}

async function startRun(h: TestServer, input = 'clean the build directory') {
  const created = await api(h, 'POST', '/v1/runs', { input });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  return created.body.run_id as string;
}

const untilApproval = { key: keyA, until: (e: { event: string }) => e.event === 'approval.requested' };

/** The tool result the model got for `call_rm` in the second upstream request. */
function toolResultSent(h: TestServer): string {
  const messages = h.upstream.requests[1]!.body.messages as {
    role: string;
    tool_call_id?: string;
    content: string;
  }[];
  return messages.find((m) => m.role === 'tool' && m.tool_call_id === 'call_rm')!.content;
}

describe('runs API', { timeout: 60_000 }, () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const server of servers) await server.close();
  });
  const boot = async (config: Record<string, unknown> = {}) => {
    const h = await startTestServer({ apiServer: { keys: [keyA, keyB] }, config });
    servers.push(h);
    return h;
  };

  it('waits for approval of a dangerous command, runs it once approved, and resumes events after Last-Event-ID', async () => {
    const h = await boot();
    scriptDangerousTurn(h);
    const runId = await startRun(h);

    const first = await readRunEvents(h.url, runId, untilApproval);
    const requested = first.at(-1)!;
    assert.deepEqual(
      first.map((e) => e.event),
      ['run.started', 'tool.started', 'approval.requested'],
    );
    assert.equal(requested.data.tool, 'terminal');
    assert.match(requested.data.reason, /recursive/);
    assert.equal(JSON.parse(requested.data.arguments).command, 'rm -rf build');

    const waiting = await api(h, 'GET', `/v1/runs/${runId}`);
    assert.equal(waiting.body.status, 'waiting_for_approval');
    assert.equal(waiting.body.pending_approvals[0].request_id, requested.data.request_id);
    assert.ok(existsSync(join(h.home, 'workspace', 'build')), 'nothing ran before the answer');

    const answered = await api(h, 'POST', `/v1/runs/${runId}/approval`, {
      request_id: requested.data.request_id,
      decision: 'once',
    });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));

    const rest = await readRunEvents(h.url, runId, { key: keyA, lastEventId: requested.id });
    assert.deepEqual(
      rest.map((e) => e.event).filter((type, i, all) => type !== all[i - 1]),
      ['approval.resolved', 'tool.completed', 'message.delta', 'run.completed'],
    );
    assert.equal(
      rest.flatMap((e) => (e.event === 'message.delta' ? [e.data.delta] : [])).join(''),
      'All done.',
    );
    assert.deepEqual(
      { decision: rest[0]!.data.decision, by: rest[0]!.data.by },
      { decision: 'once', by: 'user' },
    );
    assert.match(rest[1]!.data.output, /exit code 0/);
    assert.ok(!existsSync(join(h.home, 'workspace', 'build')), 'the approved command ran');

    // The two connections together are exactly the stored log, in order, without repeats.
    const all = await readRunEvents(h.url, runId, { key: keyA });
    assert.deepEqual(
      all.map((e) => e.id),
      [...first, ...rest].map((e) => e.id),
    );
    const viaQuery = await fetch(`${h.url}/v1/runs/${runId}/events?after=${all[2]!.id}`, {
      headers: { authorization: `Bearer ${keyA}` },
    });
    assert.equal((await viaQuery.text()).match(/^id: /gm)?.length, all.length - 3);

    const done = await api(h, 'GET', `/v1/runs/${runId}`);
    assert.equal(done.body.status, 'completed');
    assert.equal(done.body.output_text, 'All done.');
    assert.deepEqual(done.body.pending_approvals, []);
    // The run's Response is stored under the same owner, so a Responses turn can chain on it.
    const response = await api(h, 'GET', `/v1/responses/${done.body.response_id}`);
    assert.equal(response.body.status, 'completed');
  });

  it('a deny reaches the model as a tool result saying the user refused, and the run completes', async () => {
    const h = await boot();
    scriptDangerousTurn(h, 'Understood, I left it.');
    const runId = await startRun(h);
    const [, , requested] = await readRunEvents(h.url, runId, untilApproval);
    await api(h, 'POST', `/v1/runs/${runId}/approval`, {
      request_id: requested!.data.request_id,
      decision: 'deny',
    });
    const rest = await readRunEvents(h.url, runId, { key: keyA, lastEventId: requested!.id });
    assert.equal(rest.at(-1)!.event, 'run.completed');
    assert.match(toolResultSent(h), /not run: the user denied it/);
    assert.ok(existsSync(join(h.home, 'workspace', 'build')));
    const again = await api(h, 'POST', `/v1/runs/${runId}/approval`, {
      request_id: requested!.data.request_id,
      decision: 'once',
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'run_not_active');
  });

  it('an unanswered request times out as a deny', async () => {
    const h = await boot({ approvals: { timeout_s: 1 } });
    scriptDangerousTurn(h);
    const runId = await startRun(h);
    const events = await readRunEvents(h.url, runId, { key: keyA });
    const resolved = events.find((e) => e.event === 'approval.resolved')!;
    assert.deepEqual(
      { decision: resolved.data.decision, by: resolved.data.by },
      { decision: 'deny', by: 'timeout' },
    );
    assert.match(toolResultSent(h), /nobody approved it within 1 s/);
    assert.equal(events.at(-1)!.event, 'run.completed');
  });

  it('stop while waiting cancels the request and the run', async () => {
    const h = await boot();
    scriptDangerousTurn(h);
    const runId = await startRun(h);
    const [, , requested] = await readRunEvents(h.url, runId, untilApproval);
    const stopped = await api(h, 'POST', `/v1/runs/${runId}/stop`, {});
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.status, 'cancelled');
    const rest = await readRunEvents(h.url, runId, { key: keyA, lastEventId: requested!.id });
    assert.deepEqual(
      rest.map((e) => [e.event, e.data.by]),
      [
        ['approval.resolved', 'cancelled'],
        ['tool.completed', undefined],
        ['run.cancelled', undefined],
      ],
    );
    assert.equal(h.upstream.requests.length, 1, 'no model call after the stop');
    assert.ok(existsSync(join(h.home, 'workspace', 'build')));
  });

  it('steer guidance reaches the model before its next call', async () => {
    const h = await boot();
    scriptDangerousTurn(h);
    const runId = await startRun(h);
    const [, , requested] = await readRunEvents(h.url, runId, untilApproval);
    const steered = await api(h, 'POST', `/v1/runs/${runId}/steer`, { text: 'Keep the answer short.' });
    assert.equal(steered.status, 200);
    await api(h, 'POST', `/v1/runs/${runId}/approval`, {
      request_id: requested!.data.request_id,
      decision: 'once',
    });
    await readRunEvents(h.url, runId, { key: keyA, lastEventId: requested!.id });
    const last = h.upstream.requests[1]!.body.messages.at(-1);
    assert.equal(last.role, 'user');
    assert.match(last.content, /Keep the answer short\./);
  });

  it('a session answer covers the same command pattern for the rest of the conversation', async () => {
    const h = await boot();
    mkdirSync(join(h.home, 'workspace', 'a'), { recursive: true });
    h.upstream.enqueue(
      { toolCalls: [{ id: 'call_1', name: 'terminal', arguments: { command: 'rm -rf a' } }] },
      { toolCalls: [{ id: 'call_2', name: 'terminal', arguments: { command: 'rm -rf b' } }] },
      { text: 'Both gone.' },
    );
    const runId = await startRun(h);
    const [, , requested] = await readRunEvents(h.url, runId, untilApproval);
    await api(h, 'POST', `/v1/runs/${runId}/approval`, {
      request_id: requested!.data.request_id,
      decision: 'session',
    });
    const rest = await readRunEvents(h.url, runId, { key: keyA, lastEventId: requested!.id });
    assert.equal(rest.filter((e) => e.event === 'approval.requested').length, 0);
    assert.equal(rest.filter((e) => e.event === 'tool.completed').length, 2);
    assert.equal(rest.at(-1)!.event, 'run.completed');
  });

  it('an always answer is kept: a later run with the same command pattern does not ask', async () => {
    const h = await boot();
    scriptDangerousTurn(h);
    const first = await startRun(h);
    const [, , requested] = await readRunEvents(h.url, first, untilApproval);
    await api(h, 'POST', `/v1/runs/${first}/approval`, {
      request_id: requested!.data.request_id,
      decision: 'always',
    });
    await readRunEvents(h.url, first, { key: keyA, lastEventId: requested!.id });
    scriptDangerousTurn(h, 'Again.');
    const second = await startRun(h, 'and once more');
    const events = await readRunEvents(h.url, second, { key: keyA });
    assert.equal(events.filter((e) => e.event.startsWith('approval.')).length, 0);
    assert.equal(events.at(-1)!.event, 'run.completed');
  });

  it('runs belong to their key: another key gets 404 everywhere', async () => {
    const h = await boot();
    scriptDangerousTurn(h);
    const runId = await startRun(h);
    const [, , requested] = await readRunEvents(h.url, runId, untilApproval);
    for (const [method, path, body] of [
      ['GET', `/v1/runs/${runId}`, undefined],
      ['GET', `/v1/runs/${runId}/events`, undefined],
      ['POST', `/v1/runs/${runId}/approval`, { request_id: requested!.data.request_id, decision: 'once' }],
      ['POST', `/v1/runs/${runId}/stop`, {}],
      ['POST', `/v1/runs/${runId}/steer`, { text: 'x' }],
    ] as const) {
      const response = await fetch(`${h.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${keyB}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'run_not_found');
    }
    await api(h, 'POST', `/v1/runs/${runId}/stop`, {});
  });

  it('Chat Completions cannot ask, so the dangerous command is refused with an explanation, while ls runs', async () => {
    const h = await boot();
    mkdirSync(join(h.home, 'workspace', 'build'), { recursive: true });
    h.upstream.enqueue(
      {
        toolCalls: [
          { id: 'call_rm', name: 'terminal', arguments: { command: 'rm -rf build' } },
          { id: 'call_ls', name: 'terminal', arguments: { command: 'ls' } },
        ],
      },
      { text: 'I could not delete it.' },
    );
    const completion = await api(h, 'POST', '/v1/chat/completions', {
      model: 'herald',
      messages: [{ role: 'user', content: 'clean up' }],
    });
    assert.equal(completion.status, 200);
    assert.match(
      toolResultSent(h),
      /needs a person's approval \(deletes files recursively\).*nobody can approve/,
    );
    const ls = h.upstream.requests[1]!.body.messages.find(
      (m: { tool_call_id?: string }) => m.tool_call_id === 'call_ls',
    );
    assert.match(ls.content, /build/);
    assert.ok(existsSync(join(h.home, 'workspace', 'build')));
  });

  it('/v1/capabilities lists the runs API and its approval events', async () => {
    const h = await boot();
    const caps = await api(h, 'GET', '/v1/capabilities');
    assert.ok(caps.body.endpoints.some((e: { path: string }) => e.path === '/v1/runs/{id}/approval'));
    assert.ok(caps.body.features.runs.events.includes('approval.requested'));
  });

  it('rejects a bad body and an unknown decision with OpenAI-shaped 400s', async () => {
    const h = await boot();
    const bad = await api(h, 'POST', '/v1/runs', { input: 'x', stream: true });
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.body.error.message, 'string');
  });
});

describe('runs API across a restart', { timeout: 30_000 }, () => {
  const home = mkdtempSync(join(tmpdir(), 'herald-runs-restart-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  const bootOn = (upstream: ScriptedUpstream) =>
    startTestServer({ home, upstream, apiServer: { keys: [keyA], shutdown_grace_s: 0 } });

  it('a run waiting for approval when Herald stops is interrupted, and stays so after the restart', async (t) => {
    const upstream = await ScriptedUpstream.start();
    t.after(() => upstream.close());
    mkdirSync(join(home, 'workspace', 'build'), { recursive: true });
    upstream.enqueue({
      toolCalls: [{ id: 'call_rm', name: 'terminal', arguments: { command: 'rm -rf build' } }],
    });
    const one = await bootOn(upstream);
    const created = await api(one, 'POST', '/v1/runs', { input: 'clean' });
    const [, , requested] = await readRunEvents(one.url, created.body.run_id, untilApproval);
    await one.close();

    const two = await bootOn(upstream);
    try {
      const run = await api(two, 'GET', `/v1/runs/${created.body.run_id}`);
      assert.equal(run.body.status, 'interrupted');
      const rest = await readRunEvents(two.url, created.body.run_id, {
        key: keyA,
        lastEventId: requested!.id,
      });
      assert.equal(rest.at(-1)!.event, 'run.interrupted');
      assert.ok(existsSync(join(home, 'workspace', 'build')));
    } finally {
      await two.close();
    }
  });

  it('a run a killed process left waiting is marked interrupted at the next start', async () => {
    const db = openDatabase(join(home, 'herald.db'));
    const store = new SqliteRunStore(db);
    await store.create({
      id: 'run_crashed',
      owner: 'x',
      status: 'waiting_for_approval',
      createdAt: 0,
      model: 'herald',
      responseId: 'resp_x',
      usage: null,
      outputText: null,
      error: null,
    });
    assert.equal(await store.markInterrupted(), 1);
    assert.equal((await store.get('run_crashed'))!.status, 'interrupted');
    assert.deepEqual(
      (await store.events('run_crashed', 0)).map((e) => e.type),
      ['run.interrupted'],
    );
    db.close();
  });
});
