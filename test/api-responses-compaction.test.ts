/**
 * Compaction on the Responses API against a real server and a scripted upstream: the
 * `POST /v1/responses/compact` round trip with the official SDK, its validation, and automatic
 * compaction of a long `previous_response_id` chain, conversation or Chat Completions session whose
 * summary is stored and reused.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './api-test-server.ts';
import type { RecordedRequest } from './support/scripted-upstream.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

/** Distinct text of about 7 tokens per fact, so sizes are predictable with the cl100k estimate. */
const facts = (turn: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${turn} fact ${i} is ${i * 7 + turn.length};`).join(' ');

const isSummariser = (req: RecordedRequest) =>
  String(req.body?.messages?.[0]?.content ?? '').startsWith('You compact a conversation');

const SUMMARY_PREFIX = 'Summary of the earlier conversation:\n\n';

describe('Responses compaction', () => {
  let upstream: ScriptedUpstream;
  let h: TestServer;
  let summaries = 0;
  let replies = 0;

  before(async () => {
    upstream = await ScriptedUpstream.start({
      responder: (req) =>
        isSummariser(req) ? { text: `SUMMARY-${++summaries}` } : { text: `ok-${++replies}` },
    });
    // No tools, so the prompt is the core system prompt plus the conversation. Window 3600 with the
    // default output reserve (a quarter) puts the compaction threshold at 2160 tokens.
    h = await startTestServer({
      upstream,
      config: { model: { context_window: 3600 }, toolsets: { api: [] } },
    });
  });
  after(async () => {
    await h.close();
    await upstream.close();
  });
  beforeEach(() => {
    upstream.clear();
    upstream.requests.length = 0;
  });

  test('POST /v1/responses/compact returns a compaction item and the last turn, which work as the next input', async () => {
    const compacted = await h.client.responses.compact({
      model: 'herald',
      input: [
        { role: 'user', content: 'My name is Ada and I like graphs.' },
        { role: 'assistant', content: 'Nice to meet you, Ada.' },
        { role: 'user', content: 'What is a DAG?' },
      ],
    });
    assert.equal(compacted.object, 'response.compaction');
    assert.match(compacted.id, /^resp_/);
    assert.equal(typeof compacted.created_at, 'number');
    const [compaction, kept, ...rest] = compacted.output as unknown as Record<string, unknown>[];
    assert.equal(rest.length, 0);
    assert.equal(compaction?.type, 'compaction');
    assert.match(String(compaction?.id), /^cmp_/);
    assert.match(String(compaction?.encrypted_content), /^SUMMARY-\d+$/);
    assert.equal(kept?.type, 'message');
    assert.equal(kept?.role, 'user');
    assert.deepEqual(kept?.content, [{ type: 'input_text', text: 'What is a DAG?' }]);
    assert.ok(compacted.usage.total_tokens > 0);
    assert.equal(compacted.usage.input_tokens + compacted.usage.output_tokens, compacted.usage.total_tokens);

    // The summariser read the older turns, not the kept one, without tools.
    const call = upstream.requests.find(isSummariser)!;
    assert.equal(call.body.tools, undefined);
    const transcript = String(call.body.messages[1].content);
    assert.match(transcript, /My name is Ada/);
    assert.doesNotMatch(transcript, /What is a DAG/);

    // Sent back as input, the compaction item becomes the summary the model sees.
    const next = await h.client.responses.create({
      model: 'herald',
      input: [...(compacted.output as never[]), { role: 'user', content: 'And a tree?' }],
    });
    assert.equal(next.status, 'completed');
    const sent = upstream.requests.at(-1)!.body.messages.slice(1);
    assert.deepEqual(sent, [
      { role: 'user', content: `${SUMMARY_PREFIX}${compaction?.encrypted_content}` },
      { role: 'user', content: 'What is a DAG?' },
      { role: 'user', content: 'And a tree?' },
    ]);
  });

  test('compact validates like the spec: model and a window are required, references must exist', async () => {
    const post = (body: unknown) =>
      fetch(`${h.baseURL}/responses/compact`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const errorOf = async (r: Response) =>
      ((await r.json()) as { error: { param: string | null; code: string | null } }).error;
    const noModel = await post({ input: 'hi' });
    assert.equal(noModel.status, 400);
    assert.equal((await errorOf(noModel)).param, 'model');
    const noInput = await post({ model: 'herald' });
    assert.equal(noInput.status, 400);
    assert.equal((await errorOf(noInput)).param, 'input');
    const badItem = await post({ model: 'herald', input: [{ type: 'compaction' }] });
    assert.equal(badItem.status, 400);
    assert.equal((await errorOf(badItem)).param, 'input[0].encrypted_content');
    const unknown = await post({ model: 'herald', previous_response_id: 'resp_missing' });
    assert.equal(unknown.status, 404);
    assert.equal((await errorOf(unknown)).code, 'previous_response_not_found');
    assert.equal(upstream.requests.length, 0, 'nothing reached the model');
  });

  for (const mode of ['chain', 'conversation'] as const) {
    test(`a long ${mode} is compacted once: the summary is stored and the next turn builds on it`, async () => {
      const conversation = `long-talk-${mode}`;
      const turn = async (text: string, previous?: string) => {
        const response = await h.client.responses.create({
          model: 'herald',
          input: text,
          ...(mode === 'conversation'
            ? { conversation }
            : previous
              ? { previous_response_id: previous }
              : {}),
        });
        assert.equal(response.status, 'completed');
        return response;
      };
      const summariserCalls = () => upstream.requests.filter(isSummariser);
      const first = await turn(facts('one', 130));
      const second = await turn(facts('two', 90), first.id);
      assert.equal(summariserCalls().length, 0, 'below the threshold');

      const third = await turn(facts('three', 60), second.id);
      assert.ok(summariserCalls().length >= 1, 'the third turn crossed the threshold');
      assert.match(
        summariserCalls()
          .map((r) => r.body.messages[1].content)
          .join('\n'),
        /one fact 0 is/,
      );
      const summary = `SUMMARY-${summaries}`;
      const main = upstream.requests.at(-1)!;
      assert.ok(!isSummariser(main));
      // What the upstream got: the summary, then the recent turns verbatim; the oldest turn is gone.
      const contents = (r: RecordedRequest) =>
        r.body.messages.slice(1).map((m: { content: string }) => m.content);
      assert.deepEqual(contents(main), [
        `${SUMMARY_PREFIX}${summary}`,
        second.output_text,
        facts('three', 60),
      ]);

      upstream.requests.length = 0;
      await turn(facts('four', 60), third.id);
      assert.equal(summariserCalls().length, 0, 'the stored summary is not recomputed');
      assert.deepEqual(contents(upstream.requests[0]!), [
        `${SUMMARY_PREFIX}${summary}`,
        second.output_text,
        facts('three', 60),
        third.output_text,
        facts('four', 60),
      ]);
    });
  }

  test('a Chat Completions session is stored compacted, so its summary is computed once', async () => {
    const send = async (content: string, sessionId?: string) => {
      const { data, response } = await h.client.chat.completions
        .create(
          { model: 'herald', messages: [{ role: 'user', content }] },
          sessionId ? { headers: { 'x-herald-session-id': sessionId } } : {},
        )
        .withResponse();
      return {
        reply: data.choices[0]!.message.content,
        sessionId: response.headers.get('x-herald-session-id')!,
      };
    };
    const first = await send(facts('one', 130));
    const second = await send(facts('two', 90), first.sessionId);
    await send(facts('three', 60), first.sessionId);
    const summary = `SUMMARY-${summaries}`;
    assert.ok(upstream.requests.some(isSummariser), 'the third request crossed the threshold');
    upstream.requests.length = 0;
    await send(facts('four', 60), first.sessionId);
    assert.equal(upstream.requests.filter(isSummariser).length, 0, 'the stored summary is reused');
    const sent = upstream.requests[0]!.body.messages.slice(1).map((m: { content: string }) => m.content);
    assert.deepEqual(sent.slice(0, 3), [`${SUMMARY_PREFIX}${summary}`, second.reply, facts('three', 60)]);
    assert.equal(sent.at(-1), facts('four', 60));
  });
});
