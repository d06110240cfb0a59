/**
 * Chat Completions keep the agent's full transcript between stateless requests: continued by the
 * X-Herald-Session-Id header or by an exact match of the visible history, never across conversations
 * or credentials; runs on one session are serialised; Idempotency-Key replays a finished result.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import OpenAI, { type APIError } from 'openai';
import { startTestServer, type TestServer } from './api-test-server.ts';

type Msg = { role: 'user' | 'assistant' | 'system'; content: string };
const user = (content: string): Msg => ({ role: 'user', content });
const assistant = (content: string): Msg => ({ role: 'assistant', content });

const sentText = (h: TestServer, index: number) => JSON.stringify(h.upstream.requests[index]!.body.messages);
const toolMessages = (h: TestServer, index: number) =>
  (h.upstream.requests[index]!.body.messages as { role: string }[]).filter((m) => m.role === 'tool');

/** One run that calls the terminal (its output is the hidden secret) and then answers `answer`. */
function enqueueToolRun(h: TestServer, secret: string, answer: string) {
  h.upstream.enqueue(
    { toolCalls: [{ name: 'terminal', arguments: { command: `echo ${secret}` } }] },
    { text: answer },
  );
}

async function chat(client: OpenAI, messages: Msg[], sessionId?: string) {
  const { data, response } = await client.chat.completions
    .create({ model: 'herald', messages }, sessionId ? { headers: { 'x-herald-session-id': sessionId } } : {})
    .withResponse();
  return {
    text: data.choices[0]?.message.content,
    sessionId: response.headers.get('x-herald-session-id')!,
    data,
  };
}

describe('sessions', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  // A test that fails early must not leave its scripted replies to the next test.
  afterEach(() => h?.upstream.clear());
  after(() => h.close());

  test('echoing X-Herald-Session-Id continues the full transcript, tool results included', async () => {
    enqueueToolRun(h, 'SECRET-HEADER-1', 'Noted.');
    const first = await chat(h.client, [user('remember what echo prints')]);
    assert.equal(first.text, 'Noted.');
    h.upstream.enqueue({ text: 'It printed the secret.' });
    const n = h.upstream.requests.length;
    const second = await chat(h.client, [user('what did it print?')], first.sessionId);
    assert.equal(second.sessionId, first.sessionId);
    assert.equal(second.text, 'It printed the secret.');
    const sent = sentText(h, n);
    assert.match(sent, /SECRET-HEADER-1/);
    assert.match(sent, /remember what echo prints/);
    assert.equal(toolMessages(h, n).length, 1);
  });

  test('without the header, a request whose visible history matches turn for turn reuses the transcript', async () => {
    enqueueToolRun(h, 'SECRET-HISTORY-2', 'I ran it.');
    const first = await chat(h.client, [user('run the history echo')]);
    h.upstream.enqueue({ text: 'Yes.' });
    const n = h.upstream.requests.length;
    const second = await chat(h.client, [user('run the history echo'), assistant('I ran it.'), user('and?')]);
    assert.equal(second.sessionId, first.sessionId);
    assert.match(sentText(h, n), /SECRET-HISTORY-2/);
    assert.equal(toolMessages(h, n).length, 1);
  });

  test('a history that does not match is taken as the truth, with a new session', async () => {
    enqueueToolRun(h, 'SECRET-MISMATCH-3', 'Done it.');
    const first = await chat(h.client, [user('run the mismatch echo')]);
    h.upstream.enqueue({ text: 'Sure.' });
    const n = h.upstream.requests.length;
    const second = await chat(h.client, [
      user('run the mismatch echo'),
      assistant('Something else.'),
      user('and?'),
    ]);
    assert.notEqual(second.sessionId, first.sessionId);
    assert.doesNotMatch(sentText(h, n), /SECRET-MISMATCH-3/);
    assert.equal(toolMessages(h, n).length, 0);
    const sent = h.upstream.requests[n]!.body.messages as Msg[];
    assert.deepEqual(
      sent.slice(1).map((m) => [m.role, m.content]),
      [
        ['user', 'run the mismatch echo'],
        ['assistant', 'Something else.'],
        ['user', 'and?'],
      ],
    );
  });

  test('nothing leaks across conversations: other histories and other end users start clean', async () => {
    enqueueToolRun(h, 'SECRET-LEAK-4', 'Stored.');
    await h.client.chat.completions.create({ model: 'herald', user: 'ann', messages: [user('leak test')] });
    h.upstream.enqueue({ text: 'fresh' }, { text: 'fresh too' });
    const n = h.upstream.requests.length;
    // Same visible history but another end user (`user`): a different conversation.
    await h.client.chat.completions.create({
      model: 'herald',
      user: 'bob',
      messages: [user('leak test'), assistant('Stored.'), user('?')],
    });
    // A different conversation altogether.
    await chat(h.client, [user('another chat')]);
    assert.doesNotMatch(sentText(h, n), /SECRET-LEAK-4/);
    assert.doesNotMatch(sentText(h, n + 1), /SECRET-LEAK-4/);
  });

  test('a system prompt that changes every turn (a clock in it) continues the session with the new prompt', async () => {
    enqueueToolRun(h, 'SECRET-CLOCK-5', 'Ran it.');
    const first = await chat(h.client, [
      { role: 'system', content: 'Current time: 10:00:01' },
      user('run the clock echo'),
    ]);
    h.upstream.enqueue({ text: 'It printed the secret.' });
    const n = h.upstream.requests.length;
    const second = await chat(h.client, [
      { role: 'system', content: 'Current time: 10:00:42' },
      user('run the clock echo'),
      assistant('Ran it.'),
      user('what did it print?'),
    ]);
    assert.equal(second.sessionId, first.sessionId);
    assert.equal(toolMessages(h, n).length, 1, "the earlier turn's tool call and result are in context");
    assert.match(sentText(h, n), /SECRET-CLOCK-5/);
    assert.match(sentText(h, n), /Current time: 10:00:42/);
    assert.doesNotMatch(sentText(h, n), /Current time: 10:00:01/);
  });

  test('requests on one session run one after the other, and no turn is lost', async () => {
    h.upstream.enqueue({ text: 'base' });
    const base = await chat(h.client, [user('base turn')]);
    h.upstream.enqueue({ text: 'first answer', delayMs: 300 }, { text: 'second answer' });
    const n = h.upstream.requests.length;
    const first = chat(h.client, [user('first follow-up')], base.sessionId);
    await h.upstream.waitForRequests(n + 1);
    const second = chat(h.client, [user('second follow-up')], base.sessionId);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(h.upstream.requests.length, n + 1, 'the second run waits for the first');
    assert.equal((await first).text, 'first answer');
    assert.equal((await second).text, 'second answer');
    const sent = sentText(h, n + 1);
    assert.match(sent, /first follow-up/);
    assert.match(sent, /first answer/);
    assert.match(sent, /second follow-up/);
  });

  test('12 concurrent turns sent from the same point of one session all land in its transcript', async () => {
    h.upstream.enqueue({ text: 'base reply' });
    const base = await chat(h.client, [user('base turn')]);
    // Each client sends the visible history it has (as frontends do) plus its own new turn.
    const turns = Array.from({ length: 12 }, (_, i) => `concurrent turn ${i}.`);
    const replies = await Promise.all(
      turns.map((turn, i) =>
        i % 2 === 0
          ? chat(h.client, [user('base turn'), assistant('base reply'), user(turn)], base.sessionId)
          : h.client.chat.completions
              .create(
                {
                  model: 'herald',
                  stream: true,
                  messages: [user('base turn'), assistant('base reply'), user(turn)],
                },
                { headers: { 'x-herald-session-id': base.sessionId } },
              )
              .then(async (stream) => {
                for await (const _ of stream);
              }),
      ),
    );
    assert.equal(replies.length, 12);
    h.upstream.enqueue({ text: 'final' });
    const n = h.upstream.requests.length;
    await chat(h.client, [user('and now?')], base.sessionId);
    const sent = sentText(h, n);
    for (const turn of turns) assert.ok(sent.includes(turn), `${turn} is in the transcript`);
  });
});

describe('sessions across credentials', () => {
  test('a session id or matching history from another API key is not reused', async (t) => {
    const h = await startTestServer({ apiServer: { keys: ['alice-key', 'bob-key'] } });
    t.after(() => h.close());
    const alice = new OpenAI({ baseURL: h.baseURL, apiKey: 'alice-key', maxRetries: 0 });
    const bob = new OpenAI({ baseURL: h.baseURL, apiKey: 'bob-key', maxRetries: 0 });
    enqueueToolRun(h, 'SECRET-ALICE-5', 'Alice noted.');
    const mine = await chat(alice, [user('alice secret')]);
    h.upstream.enqueue({ text: 'bob 1' }, { text: 'bob 2' });
    const n = h.upstream.requests.length;
    const viaHeader = await chat(bob, [user('what was it?')], mine.sessionId);
    const viaHistory = await chat(bob, [
      user('alice secret'),
      assistant('Alice noted.'),
      user('what was it?'),
    ]);
    assert.notEqual(viaHeader.sessionId, mine.sessionId);
    assert.notEqual(viaHistory.sessionId, mine.sessionId);
    assert.doesNotMatch(sentText(h, n), /SECRET-ALICE-5/);
    assert.doesNotMatch(sentText(h, n + 1), /SECRET-ALICE-5/);
  });
});

describe('idempotency', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  // A test that fails early must not leave its scripted replies to the next test.
  afterEach(() => h?.upstream.clear());
  after(() => h.close());

  const body = (content: string) => ({ model: 'herald', messages: [user(content)] });

  test('the same key and body returns the first result without a second run', async () => {
    h.upstream.enqueue({ text: 'only once' });
    const n = h.upstream.requests.length;
    const options = { headers: { 'idempotency-key': 'idem-1' } };
    const a = await h.client.chat.completions.create(body('pay the bill'), options);
    const b = await h.client.chat.completions.create(body('pay the bill'), options);
    assert.equal(b.id, a.id);
    assert.equal(b.choices[0]?.message.content, 'only once');
    assert.equal(h.upstream.requests.length, n + 1);
  });

  test('the same key with a different body is a 409', async () => {
    h.upstream.enqueue({ text: 'first' });
    const options = { headers: { 'idempotency-key': 'idem-2' } };
    await h.client.chat.completions.create(body('one'), options);
    await assert.rejects(
      h.client.chat.completions.create(body('two'), options),
      (error: APIError) => error.status === 409,
    );
  });

  test('a concurrent duplicate waits for the first and gets its result', async () => {
    h.upstream.enqueue({ text: 'slow result', delayMs: 300 });
    const n = h.upstream.requests.length;
    const options = { headers: { 'idempotency-key': 'idem-3' } };
    const [a, b] = await Promise.all([
      h.client.chat.completions.create(body('concurrent'), options),
      h.client.chat.completions.create(body('concurrent'), options),
    ]);
    assert.equal(a.id, b.id);
    assert.equal(h.upstream.requests.length, n + 1);
  });
});
