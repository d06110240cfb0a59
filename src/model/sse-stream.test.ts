import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APIError } from 'openai/error';
import { SseParser, sseJsonChunks } from './sse-stream.ts';

function responseOf(parts: string[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
  return new Response(body, { headers: { 'x-request-id': 'req_1' } });
}

async function collect(parts: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const chunk of sseJsonChunks(responseOf(parts))) out.push(chunk);
  return out;
}

test('parses events split anywhere, with LF, CRLF or CR line ends, comments and multi-line data', () => {
  const parser = new SseParser();
  const text = ': comment\r\ndata: {"a":1}\r\n\r\nevent: x\rdata: line1\rdata:line2\r\rdata: 3\n\n';
  const events = [];
  for (const ch of text) events.push(...parser.push(ch));
  events.push(...parser.end());
  assert.deepEqual(events, [
    { event: undefined, data: '{"a":1}' },
    { event: 'x', data: 'line1\nline2' },
    { event: undefined, data: '3' },
  ]);
});

test('an event left without its closing blank line is still delivered at the end', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push('data: 1\n\ndata: 2'), [{ event: undefined, data: '1' }]);
  assert.deepEqual(parser.end(), [{ event: undefined, data: '2' }]);
});

test('yields JSON chunks until [DONE] and ignores what follows', async () => {
  const chunks = await collect([
    'data: {"n":1}\n\nda',
    'ta: {"n":2}\n\n',
    'data: [DONE]\n\ndata: {"n":3}\n\n',
  ]);
  assert.deepEqual(chunks, [{ n: 1 }, { n: 2 }]);
});

test('malformed JSON is a SyntaxError like the SDK raises', async () => {
  await assert.rejects(collect(['data: {nope\n\n']), SyntaxError);
});

test('an error event or an error field becomes an APIError without status, carrying the headers', async () => {
  const fromField = await collect(['data: {"error":{"message":"provider down"}}\n\n']).catch((e) => e);
  assert.ok(fromField instanceof APIError);
  assert.equal(fromField.status, undefined);
  assert.equal(fromField.message, 'provider down');
  assert.equal(fromField.headers?.get('x-request-id'), 'req_1');
  const fromEvent = await collect(['event: error\ndata: {"message":"boom"}\n\n']).catch((e) => e);
  assert.ok(fromEvent instanceof APIError);
  assert.equal(fromEvent.message, 'boom');
});

test('leaving early cancels the body', async () => {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('data: {"n":1}\n\n'));
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const _ of sseJsonChunks(new Response(body))) break;
  assert.equal(cancelled, true);
});
