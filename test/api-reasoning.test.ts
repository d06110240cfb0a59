/**
 * Reasoning through a real Herald server against the scripted upstream: the agent's tool activity as
 * `reasoning_content` (`tool_progress: reasoning`, the default), the upstream's own reasoning in each
 * style it may be streamed (`reasoning_content`, `reasoning`, `reasoning_details`, both of the last two)
 * on Chat Completions and as `reasoning` items on the Responses API, reasoning tokens in usage, and the
 * answer text and history kept free of reasoning. Frontend replays read the frames the way Open WebUI's
 * and LobeChat's published sources do.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { parseSse, responseEvents, startTestServer, type TestServer } from './api-test-server.ts';

const user = (content: string) => ({ role: 'user' as const, content });

// biome-ignore lint/suspicious/noExplicitAny: raw wire JSON, read field by field
type Chunk = any;

async function chunksOf(h: TestServer, body: Record<string, unknown>): Promise<Chunk[]> {
  const res = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'herald', stream: true, ...body }),
  });
  assert.equal(res.status, 200);
  const frames = parseSse(await res.text());
  assert.equal(frames.filter((f) => f.event).length, 0, 'no named events');
  return frames.filter((f) => f.data !== '[DONE]').map((f) => JSON.parse(f.data));
}

const field = (chunks: Chunk[], key: string) =>
  chunks.map((c) => c.choices?.[0]?.delta?.[key] ?? '').join('');

/**
 * Open WebUI (backend/open_webui/utils/middleware.py): `delta.reasoning_content or delta.reasoning or
 * delta.thinking` opens or extends a reasoning block, `delta.content` a text block after it.
 */
function openWebUi(chunks: Chunk[]): { type: 'reasoning' | 'text'; content: string }[] {
  const blocks: { type: 'reasoning' | 'text'; content: string }[] = [];
  for (const chunk of chunks) {
    const delta = chunk.choices?.[0]?.delta;
    if (!delta) continue;
    const reasoning = delta.reasoning_content || delta.reasoning || delta.thinking;
    if (reasoning) {
      if (blocks.at(-1)?.type !== 'reasoning') blocks.push({ type: 'reasoning', content: '' });
      (blocks.at(-1) as { content: string }).content += reasoning;
    }
    if (delta.content) {
      if (blocks.at(-1)?.type !== 'text') blocks.push({ type: 'text', content: '' });
      (blocks.at(-1) as { content: string }).content += delta.content;
    }
  }
  return blocks;
}

/**
 * LobeChat (packages/model-runtime/src/core/streams/openai/openai.ts): `reasoning_content` when the key
 * is present, else `reasoning`; a string reasoning wins over the delta's content.
 */
function lobeChat(chunks: Chunk[]): { reasoning: string; text: string } {
  const out = { reasoning: '', text: '' };
  for (const chunk of chunks) {
    const item = chunk.choices?.[0];
    if (!item || item.finish_reason || !item.delta) continue;
    let reasoning =
      'reasoning_content' in item.delta
        ? item.delta.reasoning_content
        : 'reasoning' in item.delta
          ? item.delta.reasoning
          : null;
    let content = 'content' in item.delta ? item.delta.content : null;
    if (typeof content === 'string' && typeof reasoning === 'string') {
      if (content === '' && reasoning === '') content = null;
      else if (reasoning === '') reasoning = null;
    }
    if (typeof reasoning === 'string') out.reasoning += reasoning;
    else if (typeof content === 'string') out.text += content;
  }
  return out;
}

describe('reasoning on Chat Completions', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  afterEach(() => h?.upstream.clear());
  after(() => h.close());

  const toolTurn = () =>
    h.upstream.enqueue(
      { toolCalls: [{ name: 'terminal', arguments: { command: 'echo tool-activity' } }] },
      { text: 'All done.' },
    );

  test('streams tool activity as reasoning_content by default, the answer alone as content', async () => {
    toolTurn();
    const chunks = await chunksOf(h, { messages: [user('run it')] });
    const reasoning = field(chunks, 'reasoning_content');
    assert.match(
      reasoning,
      /^⚙ `terminal: echo tool-activity`\n\n✓ `terminal` ok: `tool-activity` \(\+1 line\)\n\n$/,
    );
    assert.equal(field(chunks, 'content'), 'All done.');
    for (const chunk of chunks.filter((c) => c.choices?.[0]?.delta?.reasoning_content !== undefined)) {
      assert.equal('content' in chunk.choices[0].delta, false, 'a reasoning delta carries no content key');
    }
  });

  test('the SDK accumulator still finishes a stream with tool activity', async () => {
    toolTurn();
    const final = await h.client.chat.completions
      .stream({ model: 'herald', messages: [user('run it')] })
      .finalChatCompletion();
    assert.equal(final.choices[0]?.message.content, 'All done.');
    assert.equal(final.choices[0]?.finish_reason, 'stop');
  });

  test('a non-streamed answer carries tool activity in message.reasoning_content', async () => {
    toolTurn();
    const data = await h.client.chat.completions.create({ model: 'herald', messages: [user('run it')] });
    const message = data.choices[0]?.message as { content: string; reasoning_content?: string };
    assert.equal(message.content, 'All done.');
    assert.equal(
      message.reasoning_content,
      '⚙ `terminal: echo tool-activity`\n\n✓ `terminal` ok: `tool-activity` (+1 line)',
    );
  });

  test('a failed tool shows as an error line with the first line of its output', async () => {
    h.upstream.enqueue(
      { toolCalls: [{ name: 'read_file', arguments: { path: 'missing-file.txt' } }] },
      { text: 'Not there.' },
    );
    const reasoning = field(await chunksOf(h, { messages: [user('read it')] }), 'reasoning_content');
    assert.match(reasoning, /^⚙ `read_file: missing-file\.txt`\n\n✗ `read_file` failed: `[^\n]+`\n\n$/);
  });

  for (const style of ['reasoning_content', 'reasoning', 'reasoning_details', 'openrouter'] as const) {
    test(`passes ${style} reasoning from the upstream through as reasoning_content`, async () => {
      h.upstream.enqueue({ reasoning: 'Weighing it up.', reasoningStyle: style, text: 'Forty-two.' });
      const chunks = await chunksOf(h, { messages: [user('answer?')] });
      assert.equal(field(chunks, 'reasoning_content'), 'Weighing it up.');
      assert.equal(field(chunks, 'content'), 'Forty-two.');
    });
  }

  test('reports the upstream reasoning tokens in usage, streamed and not', async () => {
    const turn = {
      reasoning: 'Hmm.',
      text: 'Yes.',
      usage: { prompt_tokens: 10, completion_tokens: 8 },
      reasoningTokens: 6,
    };
    h.upstream.enqueue(turn);
    const plain = await h.client.chat.completions.create({ model: 'herald', messages: [user('q')] });
    assert.equal(plain.usage?.completion_tokens_details?.reasoning_tokens, 6);
    h.upstream.enqueue(turn);
    const chunks = await chunksOf(h, { messages: [user('q')], stream_options: { include_usage: true } });
    assert.equal(chunks.at(-1).usage.completion_tokens_details.reasoning_tokens, 6);
  });

  test('Open WebUI and LobeChat show reasoning and tools in the thinking panel, the answer apart', async () => {
    h.upstream.enqueue(
      {
        reasoning: 'I should look.',
        toolCalls: [{ name: 'terminal', arguments: { command: 'echo seen' } }],
      },
      { reasoning: 'Now I know.', text: 'It says seen.' },
    );
    const chunks = await chunksOf(h, { messages: [user('look')] });
    const blocks = openWebUi(chunks);
    assert.deepEqual(
      blocks.map((b) => b.type),
      ['reasoning', 'text'],
    );
    assert.match(
      blocks[0]?.content ?? '',
      /^I should look\.\n\n⚙ `terminal: echo seen`\n\n✓ .*\n\nNow I know\.$/s,
    );
    assert.equal(blocks[1]?.content, 'It says seen.');
    const lobe = lobeChat(chunks);
    assert.equal(lobe.reasoning, blocks[0]?.content);
    assert.equal(lobe.text, 'It says seen.');
  });

  test('reasoning stays out of the history sent upstream on the next turn', async () => {
    h.upstream.enqueue({ reasoning: 'Secret thoughts.', text: 'Hello.' });
    await chunksOf(h, { messages: [user('hi')] });
    h.upstream.enqueue({ text: 'Fine.' });
    const before = h.upstream.requests.length;
    await chunksOf(h, {
      messages: [user('hi'), { role: 'assistant', content: 'Hello.' }, user('and now?')],
    });
    const sent = JSON.stringify(h.upstream.requests[before]?.body.messages);
    assert.ok(sent.includes('Hello.'));
    assert.ok(!sent.includes('Secret thoughts.'));
  });
});

describe('reasoning on the Responses API', () => {
  let h: TestServer;
  before(async () => {
    h = await startTestServer();
  });
  afterEach(() => h?.upstream.clear());
  after(() => h.close());

  for (const style of ['reasoning_content', 'reasoning', 'reasoning_details', 'openrouter'] as const) {
    test(`turns ${style} reasoning into a reasoning item with summary events`, async () => {
      h.upstream.enqueue({ reasoning: ['Weigh', 'ing.'], reasoningStyle: style, text: 'Done.' });
      const res = await fetch(`${h.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'herald', input: 'q', stream: true }),
      });
      const events = responseEvents(await res.text());
      const item = events.find((e) => e.type === 'response.output_item.added')?.item;
      assert.equal(item?.type, 'reasoning');
      assert.deepEqual(
        events.filter((e) => e.item_id === item.id).map((e) => [e.type, e.delta ?? e.text ?? e.part?.text]),
        [
          ['response.reasoning_summary_part.added', ''],
          ['response.reasoning_summary_text.delta', 'Weigh'],
          ['response.reasoning_summary_text.delta', 'ing.'],
          ['response.reasoning_summary_text.done', 'Weighing.'],
          ['response.reasoning_summary_part.done', 'Weighing.'],
        ],
      );
      const final = events.at(-1).response;
      assert.deepEqual(final.output[0].summary, [{ type: 'summary_text', text: 'Weighing.' }]);
      assert.equal(final.output[0].status, 'completed');
      assert.equal(final.output[1].content[0].text, 'Done.');
    });
  }

  test('the SDK accumulator builds the same response, reasoning tokens included', async () => {
    h.upstream.enqueue(
      { reasoning: 'First, look.', toolCalls: [{ name: 'terminal', arguments: { command: 'echo x' } }] },
      {
        reasoning: 'Then answer.',
        text: 'Answer.',
        usage: { prompt_tokens: 20, completion_tokens: 9 },
        reasoningTokens: 4,
      },
    );
    const final = await h.client.responses.stream({ model: 'herald', input: 'go' }).finalResponse();
    assert.deepEqual(
      final.output.map((i) => i.type),
      ['reasoning', 'mcp_call', 'reasoning', 'message'],
    );
    const summaries = final.output.flatMap((i) =>
      i.type === 'reasoning' ? i.summary.map((s) => s.text) : [],
    );
    assert.deepEqual(summaries, ['First, look.', 'Then answer.']);
    assert.equal(final.output_text, 'Answer.');
    assert.equal(final.usage?.output_tokens_details.reasoning_tokens, 4);
    const stored = await h.client.responses.retrieve(final.id);
    assert.deepEqual(
      stored.output.map((i) => i.id),
      final.output.map((i) => i.id),
    );
  });

  test('a chained turn sends no reasoning upstream', async () => {
    h.upstream.enqueue({ reasoning: 'Private musing.', text: 'One.' });
    const first = await h.client.responses.create({ model: 'herald', input: 'count' });
    h.upstream.enqueue({ text: 'Two.' });
    const before = h.upstream.requests.length;
    await h.client.responses.create({ model: 'herald', input: 'more', previous_response_id: first.id });
    const sent = JSON.stringify(h.upstream.requests[before]?.body.messages);
    assert.ok(sent.includes('One.'));
    assert.ok(!sent.includes('Private musing.'));
  });
});
