/**
 * Fuzzes the two agent endpoints with a real server and the scripted upstream: a few thousand generated
 * bodies — malformed JSON, deep nesting, huge arrays and strings, wrong types at every field, unicode
 * oddities, prototype-pollution keys — streamed and not. Every answer must be a 2xx or a 4xx with a
 * valid OpenAI error body, or a well-formed SSE stream that ends; afterwards the server is healthy.
 * The seed is fixed (override with FUZZ_SEED); fast-check prints it with the counterexample on failure.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { parseSse, startTestServer, type TestServer } from './api-test-server.ts';

const seed = Number(process.env.FUZZ_SEED ?? 20_261_204);
const RUNS = 500;

/** Values a client might put anywhere: every JSON type, odd strings and numbers, small nestings. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    '\u0000',
    '\ud800',
    '\ufeff',
    '🧪'.repeat(50),
    -1,
    0,
    1e308,
    -0,
    2 ** 53 + 1,
    true,
    null,
    [],
    {},
    [[[[[]]]]],
    { __proto__: null, constructor: { prototype: { polluted: true } } },
  ),
);

const chatFields = [
  'model',
  'messages',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'tools',
  'tool_choice',
  'response_format',
  'user',
  'stop',
];
const responsesFields = [
  'model',
  'input',
  'instructions',
  'stream',
  'store',
  'previous_response_id',
  'conversation',
  'metadata',
  'max_output_tokens',
  'temperature',
  'top_p',
  'tools',
  'tool_choice',
  'text',
  'truncation',
  'reasoning',
  'user',
  'parallel_tool_calls',
];

/** A valid body with one field (or one part of a message / input item) replaced by anything. */
function mutatedBody(path: string, fields: readonly string[]): fc.Arbitrary<string> {
  const base = path.endsWith('chat/completions')
    ? (stream: boolean) => ({ model: 'herald', messages: [{ role: 'user', content: 'hi' }], stream })
    : (stream: boolean) => ({ model: 'herald', input: [{ role: 'user', content: 'hi' }], stream });
  const listKey = path.endsWith('chat/completions') ? 'messages' : 'input';
  return fc
    .record({
      stream: fc.boolean(),
      target: fc.oneof(
        fc.constantFrom(...fields).map((field) => ({ field, part: undefined as string | undefined })),
        fc.constantFrom('role', 'content', 'type', 'name', 'tool_call_id').map((part) => ({
          field: listKey,
          part: part as string | undefined,
        })),
      ),
      value: anyValue,
    })
    .map(({ stream, target, value }) => {
      const body: Record<string, unknown> = base(stream);
      if (target.part) {
        (body[listKey] as Record<string, unknown>[])[0]![target.part] = value;
      } else {
        body[target.field] = value;
      }
      return JSON.stringify(body);
    });
}

/** Bodies that are not a valid request at all: broken JSON, hostile shapes, limits. */
const hostileBody: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.json({ maxDepth: 4 }),
  fc.integer({ min: 65, max: 20_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc
    .integer({ min: 65, max: 20_000 })
    .map(
      (depth) =>
        `{"model":"herald","input":"hi","stream":true,"tools":[${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}]}`,
    ),
  fc.integer({ min: 10_001, max: 50_000 }).map((n) => `{"messages":[${'1,'.repeat(n)}1]}`),
  fc.constantFrom(
    '',
    'null',
    '[]',
    '"string"',
    '\ufeff{"model":"herald","input":"hi"}',
    '{"__proto__":{"polluted":true},"model":"herald","input":"hi"}',
    '{"constructor":{"prototype":{"polluted":true}},"model":"herald","input":"hi"}',
    '{"model":"herald","input":"\\ud800\\udfff\\ud800"}',
    '{"model":"herald","messages":[{"role":"user","content":"\\u0000"}]}',
    `{"model":"herald","input":"${'x'.repeat(11 * 1024 * 1024)}"}`,
    '{"model":"herald","input":"hi"',
    '{"model":"herald","input":"hi"}}',
  ),
);

const terminalResponseEvents = new Set([
  'response.completed',
  'response.failed',
  'response.incomplete',
  'error',
]);

async function check(h: TestServer, path: string, body: string): Promise<void> {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  assert.ok(res.status < 500, `status ${res.status} for ${body.slice(0, 200)}: ${text.slice(0, 300)}`);
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    assert.equal(res.status, 200);
    const frames = parseSse(text);
    // Both APIs end their streams with `[DONE]`; a Responses stream has its terminal event just before.
    assert.equal(frames.at(-1)?.data, '[DONE]', 'the stream ends with [DONE]');
    if (!path.endsWith('chat/completions')) {
      const last = frames.at(-2);
      assert.ok(terminalResponseEvents.has(last?.event ?? ''), `stream ended with ${last?.event}`);
    }
    return;
  }
  const parsed = JSON.parse(text) as { error?: Record<string, unknown> };
  if (res.status < 400) return;
  const error = parsed.error;
  assert.ok(error, `an error body for ${res.status}`);
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof error.message, 'string');
  assert.equal(typeof error.type, 'string');
  assert.ok(error.param === null || typeof error.param === 'string');
  assert.ok(error.code === null || typeof error.code === 'string');
}

describe('fuzzing the agent endpoints', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  after(() => h.close());

  for (const [path, fields] of [
    ['/v1/chat/completions', chatFields],
    ['/v1/responses', responsesFields],
  ] as const) {
    test(`${path}: mutated requests get 2xx, a 4xx in the OpenAI shape or a stream that ends`, async () => {
      await fc.assert(
        fc.asyncProperty(mutatedBody(path, fields), async (body) => check(h, path, body)),
        { seed, numRuns: RUNS },
      );
    });

    test(`${path}: hostile bodies get a 4xx in the OpenAI shape (or a stream that ends)`, async () => {
      await fc.assert(
        fc.asyncProperty(hostileBody, async (body) => check(h, path, body)),
        { seed, numRuns: RUNS },
      );
    });
  }

  test('the server is healthy afterwards', async () => {
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
    const reply = await h.client.chat.completions.create({
      model: 'herald',
      messages: [{ role: 'user', content: 'still there?' }],
    });
    assert.equal(reply.choices[0]?.message.content, 'ok');
  });
});
