/**
 * What real clients send back is accepted: the OpenAI Agents SDK and LangChain replay Herald's own
 * replies as history (with `refusal: null`, `annotations`, `output_text` parts, null ids…), on both Chat
 * Completions and the Responses API. Also: every 400 names the exact path and what is expected there,
 * an empty JSON body is no body, and sampling parameters are range-checked and reach the upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import {
  Agent,
  OpenAIChatCompletionsModel,
  OpenAIResponsesModel,
  run,
  setTracingDisabled,
} from '@openai/agents';
import { startTestServer, type TestServer } from './api-test-server.ts';

let t: TestServer;
before(async () => {
  setTracingDisabled(true);
  t = await startTestServer();
});
after(async () => {
  await t?.close();
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${t.baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON without ceremony
const json = async (res: Response): Promise<any> => res.json();

// biome-ignore lint/suspicious/noExplicitAny: tests read the upstream's recorded JSON
const lastUpstreamBody = (): any => t.upstream.requests.at(-1)?.body;

describe('client replays', { timeout: 60_000 }, () => {
  it('takes back an assistant turn in the shape the Agents SDK and LangChain replay it (chat)', async () => {
    const res = await post('/chat/completions', {
      model: 'herald',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
        {
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Hello!', annotations: [], refusal: null }],
          refusal: null,
          audio: null,
          function_call: null,
          tool_calls: [],
          name: null,
          annotations: [],
        },
        {
          role: 'user',
          content: [{ type: 'input_text', text: 'And again?', role: 'user' }],
          name: 'ann',
        },
        {
          role: 'assistant',
          content: [{ type: 'text', text: 'Again!', refusal: null, logprobs: null }],
          tool_calls: null,
        },
        { role: 'user', content: 'Thanks' },
      ],
    });
    assert.equal(res.status, 200, await res.clone().text());
    const messages = lastUpstreamBody().messages;
    assert.deepEqual(messages.slice(1), [
      { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: [{ type: 'text', text: 'And again?' }], name: 'ann' },
      { role: 'assistant', content: 'Again!' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('takes back Herald reply items in the shape the Agents SDK replays them (responses)', async () => {
    const res = await post('/responses', {
      model: 'herald',
      input: [
        { role: 'user', content: 'Hi', type: 'message', id: null },
        {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Hello!', annotations: [], logprobs: [], refusal: null }],
        },
        { role: 'user', content: [{ type: 'input_text', text: 'Again?' }] },
      ],
    });
    assert.equal(res.status, 200, await res.clone().text());
    const messages = lastUpstreamBody().messages;
    assert.deepEqual(messages.slice(1), [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Again?' },
    ]);
  });

  it('the real Agents SDK can continue from its own history over Responses and Chat Completions', async () => {
    for (const model of [
      new OpenAIResponsesModel(t.client, 'herald'),
      new OpenAIChatCompletionsModel(t.client, 'herald'),
    ]) {
      const agent = new Agent({ name: 'assistant', instructions: 'Be brief.', model });
      t.upstream.enqueue({ text: 'First answer' }, { text: 'Second answer' });
      const first = await run(agent, 'first question');
      assert.equal(first.finalOutput, 'First answer');
      const second = await run(agent, [...first.history, { role: 'user', content: 'second question' }]);
      assert.equal(second.finalOutput, 'Second answer');
      const replayed = lastUpstreamBody().messages.slice(1);
      assert.deepEqual(
        replayed.map((m: { role: string }) => m.role),
        ['user', 'assistant', 'user'],
      );
    }
  });

  it('LangChain ChatOpenAI can send a history with its own AI message', async () => {
    const chat = new ChatOpenAI({
      model: 'herald',
      apiKey: 'not-needed',
      maxRetries: 0,
      configuration: { baseURL: t.baseURL },
    });
    t.upstream.enqueue({ text: 'Second answer' });
    const reply = await chat.invoke([
      new HumanMessage('first question'),
      new AIMessage('First answer'),
      new HumanMessage('second question'),
    ]);
    assert.equal(reply.content, 'Second answer');
  });
});

describe('400s name the exact path and what is expected', { timeout: 30_000 }, () => {
  const cases: { name: string; path: string; body: unknown; param: string; message: RegExp }[] = [
    {
      name: 'a wrong refusal inside an assistant part',
      path: '/chat/completions',
      body: {
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'x' },
          { role: 'assistant', content: [{ type: 'text', text: 'a', refusal: 5 }] },
        ],
      },
      param: 'messages[2].content[0].refusal',
      message: /^messages\[2\]\.content\[0\]\.refusal: expected a string or null, but got a number\.$/,
    },
    {
      name: 'content that is neither a string nor parts',
      path: '/chat/completions',
      body: { messages: [{ role: 'user', content: 5 }] },
      param: 'messages[0].content',
      message: /^messages\[0\]\.content: expected a string or an array, but got a number\.$/,
    },
    {
      name: 'a penalty out of range',
      path: '/chat/completions',
      body: { messages: [{ role: 'user', content: 'x' }], presence_penalty: 3 },
      param: 'presence_penalty',
      message: /^presence_penalty: expected a number <= 2\.$/,
    },
    {
      name: 'an unknown content part type in a Responses message',
      path: '/responses',
      body: { input: [{ role: 'user', content: [{ type: 'input_audio' }] }] },
      param: 'input[0].content[0].type',
      message: /^input\[0\]\.content\[0\]\.type: expected "input_text", .* or "input_file"\.$/,
    },
    {
      name: 'a wrong text.format',
      path: '/responses',
      body: { input: 'x', text: { format: { type: 'json_schema' } } },
      param: 'text.format.name',
      message: /^text\.format\.name: expected a string, but it is missing\.$/,
    },
    {
      name: 'max_output_tokens below the specification floor',
      path: '/responses',
      body: { input: 'x', max_output_tokens: 5 },
      param: 'max_output_tokens',
      message: /^max_output_tokens: expected a number >= 16\.$/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const res = await post(c.path, c.body);
      assert.equal(res.status, 400);
      const { error } = await json(res);
      assert.equal(error.param, c.param);
      assert.match(error.message, c.message);
      assert.doesNotMatch(error.message, /Invalid input/);
    });
  }
  it('n > 1 stays a clear 400', async () => {
    const res = await post('/chat/completions', { n: 2, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(res.status, 400);
    const { error } = await json(res);
    assert.equal(error.param, 'n');
    assert.equal(error.code, 'unsupported_value');
  });
});

describe('empty JSON bodies', { timeout: 30_000 }, () => {
  const empty = (method: string, path: string) =>
    fetch(`${t.baseURL}${path}`, { method, headers: { 'content-type': 'application/json' } });

  it('DELETE and POST …/cancel with Content-Type: application/json and no body work', async () => {
    t.upstream.enqueue({ text: 'stored' });
    const response = await t.client.responses.create({ model: 'herald', input: 'hi' });
    // The body is accepted as none: a finished response is then not cancellable (409), not `invalid_json`.
    const cancelled = await empty('POST', `/responses/${response.id}/cancel`);
    assert.equal(cancelled.status, 409);
    assert.equal((await json(cancelled)).error.code, 'response_not_cancellable');
    const deleted = await empty('DELETE', `/responses/${response.id}`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(await json(deleted), { id: response.id, object: 'response', deleted: true });
  });

  it('a route that needs a body still answers a clear 400', async () => {
    const responses = await empty('POST', '/responses');
    assert.equal(responses.status, 400);
    assert.equal((await json(responses)).error.param, 'input');
    const chat = await empty('POST', '/chat/completions');
    assert.equal(chat.status, 400);
    assert.match((await json(chat)).error.message, /JSON object/);
  });
});

describe('sampling parameters reach the upstream', { timeout: 30_000 }, () => {
  it('Chat Completions forwards them under their wire names', async () => {
    const res = await post('/chat/completions', {
      model: 'herald',
      messages: [{ role: 'user', content: 'x' }],
      max_completion_tokens: 99,
      stop: 'END',
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -1,
      logit_bias: { '50256': -100 },
      reasoning_effort: 'high',
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'out', schema: { type: 'object' }, strict: true },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = lastUpstreamBody();
    assert.equal(body.max_tokens, 99);
    assert.deepEqual(body.stop, ['END']);
    assert.equal(body.seed, 7);
    assert.equal(body.presence_penalty, 0.5);
    assert.equal(body.frequency_penalty, -1);
    assert.deepEqual(body.logit_bias, { '50256': -100 });
    assert.equal(body.reasoning_effort, 'high');
    assert.deepEqual(body.response_format, {
      type: 'json_schema',
      json_schema: { name: 'out', schema: { type: 'object' }, strict: true },
    });
  });

  it('the Responses API maps text.format, reasoning.effort and penalties onto the chat request', async () => {
    const res = await post('/responses', {
      model: 'herald',
      input: 'x',
      max_output_tokens: 64,
      presence_penalty: -0.5,
      frequency_penalty: 0.25,
      text: { format: { type: 'json_object' }, verbosity: 'low' },
      reasoning: { effort: 'minimal' },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const echoed = await json(res);
    assert.deepEqual(echoed.text, { format: { type: 'json_object' }, verbosity: 'low' });
    const body = lastUpstreamBody();
    assert.equal(body.max_tokens, 64);
    assert.equal(body.presence_penalty, -0.5);
    assert.equal(body.frequency_penalty, 0.25);
    assert.deepEqual(body.response_format, { type: 'json_object' });
    assert.equal(body.verbosity, 'low');
    assert.equal(body.reasoning_effort, 'minimal');
  });

  it('without sampling parameters none is sent, so the upstream defaults apply', async () => {
    await post('/chat/completions', { model: 'herald', messages: [{ role: 'user', content: 'x' }] });
    const body = lastUpstreamBody();
    for (const key of [
      'stop',
      'seed',
      'presence_penalty',
      'frequency_penalty',
      'response_format',
      'logit_bias',
    ]) {
      assert.ok(!(key in body), `${key} was sent`);
    }
  });
});
