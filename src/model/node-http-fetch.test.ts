import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';
import { createNodeHttpFetch, nodeBodyOf } from './node-http-fetch.ts';
import { sseJsonChunks } from './sse-stream.ts';

let connections = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/error') {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
    res.end('{"error":{"message":"slow down"}}');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.end('data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
});
server.on('connection', () => connections++);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('streams an event-stream body through the Node stream and reuses the connection after [DONE]', async () => {
  const fetchImpl = createNodeHttpFetch();
  for (let round = 0; round < 3; round++) {
    const response = await fetchImpl(`${base}/stream`, { method: 'POST', body: '{}' });
    assert.equal(response.status, 200);
    assert.ok(nodeBodyOf(response), 'the body is read from the Node stream');
    const chunks: unknown[] = [];
    for await (const chunk of sseJsonChunks(response)) chunks.push(chunk);
    assert.deepEqual(chunks, [{ n: 1 }, { n: 2 }]);
    // Let the drained socket go back to the pool before the next request.
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(connections, 1, 'one keep-alive connection for all three streams');
});

test('an error status comes back as an ordinary Response the SDK can read', async () => {
  const response = await createNodeHttpFetch()(`${base}/error`, { method: 'POST', body: '{}' });
  assert.equal(response.status, 429);
  assert.equal(response.headers.get('retry-after'), '2');
  assert.deepEqual(await response.json(), { error: { message: 'slow down' } });
});

test('an aborted request rejects with the abort reason', async () => {
  const controller = new AbortController();
  const reason = new Error('stop');
  controller.abort(reason);
  await assert.rejects(createNodeHttpFetch()(`${base}/stream`, { signal: controller.signal }), reason);
});
