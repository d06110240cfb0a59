/**
 * Replays of what six chat frontends send Herald — Open WebUI, LibreChat, NextChat, AnythingLLM, ChatBox
 * and LobeChat — built the way their published sources build them (paths, headers, bodies, their
 * background-task prompts) and read back the way each one reads (Open WebUI JSON-parses the title out of
 * `choices[0].message.content`, NextChat reads `message.content` of a non-streamed topic call, the others
 * join `delta.content`). Proves: plain and two-turn chats, background requests served without the agent's
 * prompt and tools and never stored, late system messages kept in place, timestamped system prompts
 * keeping the agent's tool context, and stream failures every frontend can show.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, afterEach, before, describe, test } from 'node:test';
import { createLogger } from '../src/logger.ts';
import { parseSse, startTestServer, type TestServer } from './api-test-server.ts';

type Msg = { role: 'system' | 'user' | 'assistant'; content: string };
const user = (content: string): Msg => ({ role: 'user', content });
const assistant = (content: string): Msg => ({ role: 'assistant', content });
const system = (content: string): Msg => ({ role: 'system', content });

const KEY = 'sk-herald-frontends';
const HERALD_PROMPT = /You are Herald, a tool-using AI agent/;

interface Frontend {
  name: string;
  /** The path prefix the frontend puts before `/chat/completions` and `/models`. */
  prefix: string;
  headers: Record<string, string>;
  /** The body of a streamed chat turn. */
  chat(messages: Msg[]): Record<string, unknown>;
  /** The system prompt it sends, when it sends one (some change every turn). */
  systemPrompt?(at: Date): string;
}

const stainless = {
  'user-agent': 'OpenAI/JS 4.104.0',
  'x-stainless-lang': 'js',
  'x-stainless-package-version': '4.104.0',
  'x-stainless-runtime': 'node',
  'x-stainless-retry-count': '0',
};

/** NextChat's `DEFAULT_SYSTEM_TEMPLATE`, filled in: the time to the second (`new Date().toLocaleString()`). */
const nextChatSystem = (at: Date) =>
  `\nYou are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2021-09\nCurrent model: herald\nCurrent time: ${at.toISOString().replace('T', ' ').slice(0, 19)}\nLatex inline: \\(x^2\\) \nLatex block: $$e=mc^2$$\n\n`;

/** AnythingLLM's default workspace prompt with `{datetime}` expanded (to the minute) and its context block. */
const anythingSystem = (at: Date) =>
  `Given the following conversation, relevant context, and a follow up question, reply with an answer to the current question the user is asking. Return only your response to the question given the above information following the users instructions as needed. It is now ${at.toISOString().slice(0, 16)}.\nContext:\n`;

const FRONTENDS: Frontend[] = [
  {
    name: 'Open WebUI',
    prefix: '/v1',
    headers: { 'x-openwebui-chat-id': 'c-1' },
    chat: (messages) => ({ model: 'herald', messages, stream: true }),
  },
  {
    name: 'LibreChat',
    prefix: '/v1',
    headers: stainless,
    chat: (messages) => ({
      model: 'herald',
      user: '66a1f0c2e4b0',
      temperature: 1,
      top_p: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      stream: true,
      stream_options: { include_usage: true },
      messages,
    }),
  },
  {
    name: 'NextChat',
    // NextChat appends `v1/chat/completions` to a base URL without /v1.
    prefix: '/v1',
    headers: { 'x-requested-with': 'XMLHttpRequest' },
    chat: (messages) => ({
      messages,
      stream: true,
      model: 'herald',
      temperature: 0.5,
      presence_penalty: 0,
      frequency_penalty: 0,
      top_p: 1,
    }),
    systemPrompt: nextChatSystem,
  },
  {
    name: 'AnythingLLM',
    prefix: '/v1',
    headers: stainless,
    chat: (messages) => ({ model: 'herald', stream: true, messages, temperature: 0.7, max_tokens: 1024 }),
    systemPrompt: anythingSystem,
  },
  {
    name: 'ChatBox',
    prefix: '/v1',
    headers: { 'user-agent': 'ai-sdk/openai-compatible' },
    chat: (messages) => ({
      model: 'herald',
      messages,
      temperature: 0.7,
      stream: true,
      stream_options: { include_usage: true },
    }),
  },
  {
    name: 'LobeChat',
    prefix: '/v1',
    headers: stainless,
    chat: (messages) => ({
      model: 'herald',
      messages,
      stream: true,
      temperature: 1,
      top_p: 1,
      frequency_penalty: 0,
      presence_penalty: 0,
      stream_options: { include_usage: true },
    }),
  },
];

let h: TestServer;
const logLines: Record<string, unknown>[] = [];

before(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logLines.push(JSON.parse(line));
      done();
    },
  });
  h = await startTestServer({
    apiServer: { keys: [KEY], utility_model: 'cheap-model' },
    logger: createLogger('info', sink),
  });
});
afterEach(() => h?.upstream.clear());
after(() => h.close());

async function post(fe: Frontend, body: Record<string, unknown>) {
  return fetch(`${h.url}${fe.prefix}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...fe.headers },
    body: JSON.stringify(body),
  });
}

/** A streamed reply as the frontends render it: the joined `delta.content` of every chunk with choices. */
async function streamedText(res: Response): Promise<string> {
  assert.equal(res.status, 200);
  let text = '';
  for (const frame of parseSse(await res.text())) {
    if (frame.data === '[DONE]') break;
    text += JSON.parse(frame.data).choices?.[0]?.delta?.content ?? '';
  }
  return text;
}

/** A non-streamed reply read like Open WebUI, LibreChat and NextChat: `choices[0].message.content`. */
async function messageContent(res: Response): Promise<string> {
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { choices: { message: { content: string } }[] };
  return body.choices[0]!.message.content;
}

const transcriptStates = () =>
  (h.db.prepare('SELECT COUNT(*) AS n FROM transcript_states').get() as { n: number }).n;
const upstreamRequest = (index: number) => h.upstream.requests[index]!.body;

/** One agent turn that runs the terminal (printing `marker`) and then answers `answer`. */
function enqueueToolTurn(marker: string, answer: string) {
  h.upstream.enqueue(
    { toolCalls: [{ name: 'terminal', arguments: { command: `echo TOOL_RESULT:${marker}` } }] },
    { text: answer },
  );
}

/** Asserts that upstream request `index` was the caller's messages as sent: no tools, no Herald prompt. */
function assertServedBare(index: number, sent: Msg[]) {
  const body = upstreamRequest(index);
  assert.equal(body.tools, undefined, 'no Herald tools offered');
  assert.doesNotMatch(JSON.stringify(body.messages), HERALD_PROMPT);
  assert.deepEqual(
    body.messages.map((m: Msg) => ({ role: m.role, content: m.content })),
    sent,
  );
  assert.equal(body.model, 'cheap-model', 'api_server.utility_model');
}

describe('every frontend', () => {
  for (const fe of FRONTENDS) {
    test(`${fe.name}: model list, a streamed turn and a two-turn history`, async () => {
      const models = await fetch(`${h.url}${fe.prefix}/models`, {
        headers: { authorization: `Bearer ${KEY}` },
      });
      const list = (await models.json()) as { data: { id: string }[] };
      assert.ok(list.data.some((m) => m.id === 'herald'));

      const lead = fe.systemPrompt ? [system(fe.systemPrompt(new Date('2026-12-04T10:00:00Z')))] : [];
      enqueueToolTurn(`${fe.name}-1`, 'Listed them.');
      const first = await streamedText(await post(fe, fe.chat([...lead, user('list the files')])));
      assert.equal(first, 'Listed them.');

      h.upstream.enqueue({ text: 'It printed the marker.' });
      const n = h.upstream.requests.length;
      const later = fe.systemPrompt ? [system(fe.systemPrompt(new Date('2026-12-04T10:07:31Z')))] : [];
      const second = await streamedText(
        await post(
          fe,
          fe.chat([...later, user('list the files'), assistant('Listed them.'), user('what did it print?')]),
        ),
      );
      assert.equal(second, 'It printed the marker.');
      const sent = JSON.stringify(upstreamRequest(n).messages);
      // The agent's earlier tool call and result are back in context, even where the system prompt's clock moved.
      assert.match(sent, new RegExp(`TOOL_RESULT:${fe.name}-1`));
      assert.match(sent, HERALD_PROMPT);
      if (fe.systemPrompt) {
        assert.match(sent, /10:07/, "this turn's system prompt is the one used");
        assert.doesNotMatch(sent, /10:00/);
      }
    });

    test(`${fe.name}: a failure after the stream opened shows as text in the reply`, async () => {
      h.upstream.enqueue({ text: 'This answer is cut off somewhere in the middle', cutAfterChunks: 3 });
      const text = await streamedText(await post(fe, fe.chat([user('tell me a story')])));
      assert.match(text, /^This.*\n\n⚠️ Error: .+/s);
    });
  }
});

test('AnythingLLM and NextChat sending the thinking block back in the reply still continue the session', async () => {
  const fe = FRONTENDS.find((f) => f.name === 'AnythingLLM')!;
  enqueueToolTurn('think-1', 'Listed them.');
  await streamedText(await post(fe, fe.chat([user('list the files again')])));
  h.upstream.enqueue({ text: 'It printed the marker.' });
  const n = h.upstream.requests.length;
  // What AnythingLLM stores and resends: the reasoning_content (here the tool lines) wrapped in <think>.
  const stored = '<think>⚙ `terminal: echo TOOL_RESULT:think-1`\n✓ `terminal` ok</think>\n\nListed them.';
  await streamedText(
    await post(fe, fe.chat([user('list the files again'), assistant(stored), user('what did it print?')])),
  );
  assert.match(JSON.stringify(upstreamRequest(n).messages), /TOOL_RESULT:think-1/);
});

describe('background requests after a tool turn', () => {
  const history = [user('list the files'), assistant('Listed them.')];
  const pasted = 'USER: list the files\nASSISTANT: Listed them.';

  /** Runs a chat turn that used a tool, then the frontend's background request; checks it was served bare. */
  async function afterToolTurn(fe: Frontend, body: Record<string, unknown>, reply: string) {
    enqueueToolTurn(fe.name, 'Listed them.');
    await streamedText(await post(fe, fe.chat([user('list the files')])));
    const states = transcriptStates();
    h.upstream.enqueue({ text: reply });
    const n = h.upstream.requests.length;
    const res = await post(fe, body);
    assert.equal(res.headers.get('x-herald-session-id'), null, 'no session continuity for a utility request');
    assertServedBare(n, body['messages'] as Msg[]);
    assert.equal(h.upstream.requests.length, n + 1, 'one model call, no tool run');
    return { res, check: () => assert.equal(transcriptStates(), states, 'not stored as a turn') };
  }

  test('Open WebUI: title and tags are JSON-parsed from choices[0].message.content', async () => {
    const fe = FRONTENDS[0]!;
    const title = await afterToolTurn(
      fe,
      {
        model: 'herald',
        stream: false,
        messages: [
          user(
            `### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n### Output:\nJSON format: { "title": "your concise title here" }\n### Chat History:\n<chat_history>\n${pasted}\n</chat_history>`,
          ),
        ],
      },
      '{ "title": "📁 Listing Files" }',
    );
    const content = await messageContent(title.res);
    assert.equal(
      JSON.parse(content.slice(content.indexOf('{'), content.lastIndexOf('}') + 1)).title,
      '📁 Listing Files',
    );
    title.check();

    h.upstream.enqueue({ text: '{ "tags": ["Technology"] }' });
    const n = h.upstream.requests.length;
    const tagsBody = {
      model: 'herald',
      stream: false,
      messages: [
        user(
          `### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history.\n### Output:\nJSON format: { "tags": ["tag1"] }\n### Chat History:\n<chat_history>\n${pasted}\n</chat_history>`,
        ),
      ],
    };
    const tags = JSON.parse(await messageContent(await post(fe, tagsBody)));
    assert.deepEqual(tags.tags, ['Technology']);
    assertServedBare(n, tagsBody.messages);
    await new Promise((r) => setTimeout(r, 20));
    const line = logLines.findLast((l) => l['event'] === 'api.request' && l['utility'] === true);
    assert.equal(line?.['utilityRule'], 'open-webui:tags');
  });

  test('LibreChat: the title prompt with the conversation pasted in', async () => {
    const fe = FRONTENDS[1]!;
    const { res, check } = await afterToolTurn(
      fe,
      {
        model: 'herald',
        user: '66a1f0c2e4b0',
        stream: false,
        messages: [
          user(
            'Provide a concise, 5-word-or-less title for the conversation, using its same language, with no punctuation. Apply title case conventions appropriate for the language. Never directly mention the language name or the word "title" and only return the title itself.\n\nConversation:\nUser: list the files\nAI: Listed them.',
          ),
        ],
      },
      'Listing Workspace Files',
    );
    assert.equal(await messageContent(res), 'Listing Workspace Files');
    check();
  });

  test('NextChat: the topic request after the history, read from message.content', async () => {
    const fe = FRONTENDS[2]!;
    const { res, check } = await afterToolTurn(
      fe,
      {
        model: 'herald',
        stream: false,
        messages: [
          ...history,
          user(
            'Please generate a four to five word title summarizing our conversation without any lead-in, punctuation, quotation marks, periods, symbols, bold text, or additional text. Remove enclosing quotation marks.',
          ),
        ],
      },
      'Listing Workspace Files Today',
    );
    assert.equal(await messageContent(res), 'Listing Workspace Files Today');
    check();
  });

  test('NextChat: the memory summary keeps its trailing system instruction after the history', async () => {
    const fe = FRONTENDS[2]!;
    const summarize = system(
      'Summarize the discussion briefly in 200 words or less to use as a prompt for future context.',
    );
    const { res, check } = await afterToolTurn(
      fe,
      fe.chat([...history, summarize]),
      'The user asked for the files; they were listed.',
    );
    assert.equal(await streamedText(res), 'The user asked for the files; they were listed.');
    assert.deepEqual(upstreamRequest(h.upstream.requests.length - 1).messages.at(-1), summarize);
    check();
  });

  test('LobeChat: the topic chain (its own system prompt and the transcript)', async () => {
    const fe = FRONTENDS[5]!;
    const { res, check } = await afterToolTurn(
      fe,
      fe.chat([
        system(
          'You are a professional conversation summarizer. Generate a concise title that captures the essence of the conversation.\n\nRules:\n- Output ONLY the title text',
        ),
        user('user: list the files\nassistant: Listed them.'),
      ]),
      'Workspace File Listing',
    );
    assert.equal(await streamedText(res), 'Workspace File Listing');
    check();
  });

  test('ChatBox: the naming prompt', async () => {
    const fe = FRONTENDS[4]!;
    const { res, check } = await afterToolTurn(
      fe,
      fe.chat([
        user(
          "Based on the chat history, give this conversation a name.\nKeep it short - 30 characters max.\nUse English.\nJust provide the name, nothing else.\n\nHere's the conversation:\n\n```\nlist the files\n\n---------\n\nListed them.\n```",
        ),
      ]),
      'File Listing',
    );
    assert.equal(await streamedText(res), 'File Listing');
    check();
  });
});

describe('the agent path', () => {
  test('a late system message reaches the upstream in place, after the history, never hoisted', async () => {
    const fe = FRONTENDS[2]!;
    h.upstream.enqueue({ text: 'Voilà.' });
    const n = h.upstream.requests.length;
    const messages = [
      user('hi'),
      assistant('Hello!'),
      system('Answer in French from now on.'),
      user('and now?'),
    ];
    assert.equal(await streamedText(await post(fe, fe.chat(messages))), 'Voilà.');
    const sent = upstreamRequest(n).messages as Msg[];
    assert.match(sent[0]!.content, HERALD_PROMPT);
    assert.deepEqual(
      sent.slice(1).map((m) => ({ role: m.role, content: m.content })),
      messages,
    );
  });

  test('false positive guard: a person asking for a title in a normal chat gets the agent', async () => {
    const fe = FRONTENDS[0]!;
    h.upstream.enqueue({ text: '"Bread, Slowly"' });
    const n = h.upstream.requests.length;
    const res = await post(fe, fe.chat([user('give me a title for my essay about bread')]));
    assert.equal(await streamedText(res), '"Bread, Slowly"');
    assert.ok(res.headers.get('x-herald-session-id'));
    assert.match(JSON.stringify(upstreamRequest(n).messages), HERALD_PROMPT);
    assert.ok(upstreamRequest(n).tools?.length > 0);
  });
});

describe('utility_requests: agent, stream_errors: error', () => {
  let agentMode: TestServer;
  before(async () => {
    agentMode = await startTestServer({ apiServer: { utility_requests: 'agent', stream_errors: 'error' } });
  });
  after(() => agentMode.close());

  const send = (body: Record<string, unknown>) =>
    fetch(`${agentMode.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test("NextChat's summary runs as an agent turn, its trailing system instruction still last", async () => {
    const summarize = system(
      'Summarize the discussion briefly in 200 words or less to use as a prompt for future context.',
    );
    agentMode.upstream.enqueue({ text: 'Summary.' });
    const res = await send({
      model: 'herald',
      stream: true,
      messages: [user('hi'), assistant('Hello!'), summarize],
    });
    assert.equal(await streamedText(res), 'Summary.');
    const sent = agentMode.upstream.requests.at(-1)!.body.messages as Msg[];
    assert.match(sent[0]!.content, HERALD_PROMPT);
    assert.deepEqual(sent.at(-1), summarize);
  });

  test('a failed stream ends with the error frame only', async () => {
    agentMode.upstream.enqueue({ text: 'This answer is cut off somewhere in the middle', cutAfterChunks: 3 });
    const frames = parseSse(
      await (await send({ model: 'herald', stream: true, messages: [user('hi')] })).text(),
    );
    assert.equal(frames.at(-1)?.data, '[DONE]');
    assert.equal(JSON.parse(frames.at(-2)!.data).error.code, 'upstream_stream_cut');
    assert.doesNotMatch(JSON.stringify(frames), /⚠️|finish_reason":"stop/);
  });
});
