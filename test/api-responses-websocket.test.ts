/**
 * The Responses API's WebSocket mode end to end, with the `ws` client (and the openai SDK's ResponsesWS)
 * against a real server and the scripted upstream: sequential responses on one socket, chaining by
 * `previous_response_id` (stored, and `store: false` on the same socket), the recovery error on another
 * socket, errors as events that leave the socket usable, FIFO creates, auth on the upgrade, cancellation
 * by disconnect and closing on shutdown.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import WebSocket from 'ws';
import { startTestServer, type TestServer, waitFor } from './api-test-server.ts';

// biome-ignore lint/suspicious/noExplicitAny: server events are arbitrary JSON
type Event = any;

/** A test client socket that keeps every event it received, in order. */
class Client {
  readonly ws: WebSocket;
  readonly events: Event[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      this.events.push(JSON.parse(String(data)));
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        resolve({ code, reason: String(reason) });
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<Client> {
    const ws = new WebSocket(`${url.replace('http:', 'ws:')}/v1/responses`, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Client(ws);
  }

  create(body: Record<string, unknown>): void {
    this.ws.send(JSON.stringify({ type: 'response.create', model: 'herald', ...body }));
  }

  /** Waits for the first event from index `from` on that matches, and returns it. */
  async until(match: (e: Event) => boolean, from = 0): Promise<Event> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (this.ws.readyState === WebSocket.CLOSED) assert.fail('the socket closed while waiting');
      if (Date.now() > deadline) assert.fail(`timed out; events: ${this.events.map((e) => e.type)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a create and waits for its terminal event (or an error event). */
  async turn(body: Record<string, unknown>): Promise<Event> {
    const from = this.events.length;
    this.create(body);
    return this.until((e) => isTerminal(e) || e.type === 'error', from);
  }

  close(): void {
    this.ws.close();
  }
}

const isTerminal = (e: Event) =>
  e.type === 'response.completed' || e.type === 'response.failed' || e.type === 'response.incomplete';

/** The upgrade's refusal: status and OpenAI-shaped body. */
function refusedUpgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Event }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http:', 'ws:')}/v1/responses`, { headers });
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
    ws.once('error', () => {});
  });
}

// biome-ignore lint/suspicious/noExplicitAny: upstream bodies are arbitrary JSON
const upstreamText = (request: any): string => JSON.stringify(request.body.messages);

describe('Responses WebSocket mode', { timeout: 60_000 }, () => {
  let t: TestServer;
  const clients: Client[] = [];
  const open = async () => {
    const client = await Client.open(t.url);
    clients.push(client);
    return client;
  };
  before(async () => {
    t = await startTestServer();
  });
  after(() => t?.close());
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    t.upstream.clear();
  });

  it('runs two responses on one socket, the second continuing the first by previous_response_id', async () => {
    const client = await open();
    t.upstream.enqueue({ text: 'The code word is PAPAYA.' }, { text: 'You told me PAPAYA.' });
    const first = await client.turn({ input: 'Remember the code word.' });
    assert.equal(first.type, 'response.completed');
    assert.equal(first.response.output[0].content[0].text, 'The code word is PAPAYA.');
    const second = await client.turn({ input: 'What was it?', previous_response_id: first.response.id });
    assert.equal(second.type, 'response.completed');
    assert.equal(second.response.previous_response_id, first.response.id);

    const seen = upstreamText(t.upstream.requests.at(-1));
    assert.match(seen, /Remember the code word\./);
    assert.match(seen, /The code word is PAPAYA\./);
    assert.match(seen, /What was it\?/);
    // Each response streams the same events as SSE, numbered from 0.
    const ofSecond = client.events.filter((e) => e.response?.id === second.response.id || e.item_id);
    assert.equal(ofSecond.length > 0, true);
    assert.deepEqual(
      client.events.filter((e) => e.type === 'response.created').map((e) => e.sequence_number),
      [0, 0],
    );
    assert.equal((await t.client.responses.retrieve(second.response.id)).status, 'completed');
  });

  it('continues a store:false response on the same socket; another socket gets previous_response_not_found and recovers with full input', async () => {
    const client = await open();
    t.upstream.enqueue({ text: 'Noted: BANANA.' }, { text: 'It was BANANA.' });
    const first = await client.turn({ input: 'The fruit is BANANA.', store: false });
    assert.equal(first.type, 'response.completed');
    assert.equal(first.response.store, false);
    await assert.rejects(t.client.responses.retrieve(first.response.id), { status: 404 });

    const second = await client.turn({
      input: 'Which fruit?',
      previous_response_id: first.response.id,
      store: false,
    });
    assert.equal(second.type, 'response.completed');
    const seen = upstreamText(t.upstream.requests.at(-1));
    assert.match(seen, /The fruit is BANANA\./);
    assert.match(seen, /Noted: BANANA\./);

    // Only the socket's latest unstored response is kept: the first is gone even here.
    const older = await client.turn({
      input: 'again',
      previous_response_id: first.response.id,
      store: false,
    });
    assert.equal(older.type, 'error');
    assert.equal(older.error.code, 'previous_response_not_found');

    const other = await open();
    const requestsBefore = t.upstream.requests.length;
    const missing = await other.turn({ input: 'Which fruit?', previous_response_id: second.response.id });
    assert.equal(missing.type, 'error');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.error, {
      type: 'invalid_request_error',
      code: 'previous_response_not_found',
      param: 'previous_response_id',
      message: `Previous response with id '${second.response.id}' not found.`,
    });
    assert.equal(t.upstream.requests.length, requestsBefore, 'nothing ran');

    t.upstream.enqueue({ text: 'BANANA, from the full context.' });
    const recovered = await other.turn({
      store: false,
      input: [
        { role: 'user', content: 'The fruit is BANANA.' },
        { role: 'assistant', content: 'Noted: BANANA.' },
        { role: 'user', content: 'Which fruit?' },
      ],
    });
    assert.equal(recovered.type, 'response.completed');
    assert.match(upstreamText(t.upstream.requests.at(-1)), /The fruit is BANANA\./);
  });

  it('answers a bad create with an error event and keeps the socket usable', async () => {
    const client = await open();
    const invalid = await client.turn({ input: 'hi', temperature: 5 });
    assert.equal(invalid.type, 'error');
    assert.equal(invalid.status, 400);
    assert.equal(invalid.error.type, 'invalid_request_error');
    assert.equal(invalid.error.param, 'temperature');
    assert.equal(invalid.error.code, 'invalid_value');

    const httpOnly = await client.turn({ input: 'hi', stream: true });
    assert.equal(httpOnly.type, 'error');
    assert.equal(httpOnly.error.param, 'stream');

    const from = client.events.length;
    client.ws.send('not json');
    assert.equal((await client.until((e) => e.type === 'error', from)).error.code, 'invalid_json');

    t.upstream.enqueue({ text: 'fine now' });
    const good = await client.turn({ input: 'hi', stream_id: 'lane-a' });
    assert.equal(good.type, 'response.completed');
    assert.equal(good.stream_id, 'lane-a');
    assert.equal(good.response.output[0].content[0].text, 'fine now');
  });

  it('runs a second create sent while the first is running after it, in order', async () => {
    const client = await open();
    t.upstream.enqueue({ text: ['slow ', 'first ', 'answer'], chunkDelayMs: 50 }, { text: 'second answer' });
    client.create({ input: 'one' });
    client.create({ input: 'two' });
    await client.until((e) => isTerminal(e) && e.response.output[0]?.content[0]?.text === 'second answer');
    const order = client.events
      .filter((e) => e.type === 'response.created' || isTerminal(e))
      .map((e) => `${e.type}:${e.response.id}`);
    const [created1, done1, created2, done2] = order;
    assert.equal(order.length, 4);
    assert.equal(
      created1?.split(':')[1],
      done1?.split(':')[1],
      'the first ran to its end before the second began',
    );
    assert.equal(created2?.split(':')[1], done2?.split(':')[1]);
    assert.match(upstreamText(t.upstream.requests.at(-1)), /two/);
  });

  it('cancels the running response when the client closes the socket, stored as cancelled', async () => {
    const client = await open();
    t.upstream.enqueue({ text: ['partial ', 'never finished'], chunkDelayMs: 5_000 });
    const before = t.upstream.aborted;
    client.create({ input: 'long' });
    const delta = await client.until((e) => e.type === 'response.output_text.delta');
    const id = client.events.find((e) => e.type === 'response.created').response.id as string;
    assert.equal(delta.delta, 'partial ');
    client.close();
    const stored = await waitFor(async () => {
      const r = await t.client.responses.retrieve(id);
      return r.status === 'in_progress' ? undefined : r;
    }, 'the cancelled response');
    assert.equal(stored.status, 'cancelled');
    assert.equal(stored.output_text, 'partial ');
    assert.equal(t.upstream.aborted, before + 1, 'the upstream request was aborted');
  });

  it('lets POST /v1/responses/{id}/cancel reach a response running on a socket', async () => {
    const client = await open();
    t.upstream.enqueue({ hang: true });
    client.create({ input: 'wait' });
    const created = await client.until((e) => e.type === 'response.created');
    await t.upstream.waitForRequests(t.upstream.requests.length + 1);
    const cancelled = await t.client.responses.cancel(created.response.id);
    assert.equal(cancelled.status, 'cancelled');
    const terminal = await client.until(isTerminal);
    assert.equal(terminal.response.status, 'cancelled');
  });

  it('works with the openai SDK ResponsesWS client', async () => {
    t.upstream.enqueue({ text: 'Hello over a socket' }, { text: 'And again' });
    const ws = new ResponsesWS(new OpenAI({ baseURL: t.baseURL, apiKey: 'not-needed', maxRetries: 0 }));
    try {
      const texts: string[] = [];
      let previous: string | undefined;
      for (const input of ['hi', 'more']) {
        ws.send({ type: 'response.create', model: 'herald', input, previous_response_id: previous });
        for await (const message of ws) {
          if (message.type !== 'message') continue;
          const event = message.message;
          if (event.type === 'error') assert.fail(JSON.stringify(event));
          if (event.type === 'response.completed') {
            const [item] = event.response.output;
            texts.push(
              item?.type === 'message' && item.content[0]?.type === 'output_text' ? item.content[0].text : '',
            );
            previous = event.response.id;
            break;
          }
        }
      }
      assert.deepEqual(texts, ['Hello over a socket', 'And again']);
      assert.match(upstreamText(t.upstream.requests.at(-1)), /Hello over a socket/);
    } finally {
      ws.close();
    }
  });
});

describe('Responses WebSocket mode: access and shutdown', { timeout: 60_000 }, () => {
  it('refuses an upgrade without or with a wrong key with an OpenAI-shaped 401, and accepts the right key', async () => {
    const t = await startTestServer({ apiServer: { keys: ['sesame'] } });
    try {
      const missing = await refusedUpgrade(t.url, {});
      assert.equal(missing.status, 401);
      assert.equal(missing.body.error.code, 'invalid_api_key');
      assert.equal(missing.body.error.type, 'invalid_request_error');
      const wrong = await refusedUpgrade(t.url, { authorization: 'Bearer open' });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.message, 'Incorrect API key provided.');

      const client = await Client.open(t.url, { authorization: 'Bearer sesame' });
      t.upstream.enqueue({ text: 'welcome' });
      assert.equal((await client.turn({ input: 'hi' })).type, 'response.completed');
      client.close();
    } finally {
      await t.close();
    }
  });

  it('refuses a keyless upgrade from a cross-site page', async () => {
    const t = await startTestServer();
    try {
      const refused = await refusedUpgrade(t.url, { origin: 'https://evil.example' });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'forbidden');
    } finally {
      await t.close();
    }
  });

  it('ends a connection at websocket_max_connection_s with websocket_connection_limit_reached, advertised in /v1/capabilities', async () => {
    const t = await startTestServer({ apiServer: { responses: { websocket_max_connection_s: 1 } } });
    try {
      const caps: Event = await (await fetch(`${t.baseURL}/capabilities`)).json();
      assert.deepEqual(caps.features.responses_websocket, {
        path: '/v1/responses',
        client_events: ['response.create'],
        max_message_bytes: t.config.api_server.max_body_bytes,
        max_connection_s: 1,
      });
      const client = await Client.open(t.url);
      const limit = await client.until((e) => e.type === 'error');
      assert.equal(limit.error.code, 'websocket_connection_limit_reached');
      assert.equal((await client.closed).code, 1000);
    } finally {
      await t.close();
    }
  });

  it('closes open sockets with 1001 when the server stops, after their response ends', async () => {
    const t = await startTestServer({ apiServer: { shutdown_grace_s: 0 } });
    try {
      const idle = await Client.open(t.url);
      const busy = await Client.open(t.url);
      t.upstream.enqueue({ hang: true });
      busy.create({ input: 'wait' });
      await busy.until((e) => e.type === 'response.created');
      await t.upstream.waitForRequests(1);
      await t.server.stop();
      assert.equal((await idle.closed).code, 1001);
      assert.equal((await busy.closed).code, 1001);
      const terminal = busy.events.find(isTerminal);
      assert.ok(terminal, 'the running response ended before the socket closed');
      assert.notEqual(terminal.response.status, 'completed');
    } finally {
      await t.close();
    }
  });
});
