/**
 * Agent frameworks against a real Herald server, each running a function tool of its own client-side
 * while Herald's agent uses its own (hosted) tools: the OpenAI Agents SDK (Responses and Chat
 * Completions models, streamed and not), LangChain `ChatOpenAI` (`bindTools`, Chat Completions and
 * Responses) and the Vercel AI SDK (`openai.chat()` and `openai.responses()`, tools with `execute`).
 * Each test scripts the upstream so the model first calls one of Herald's tools, then the client's
 * tool in a later turn, then answers from the client tool's result: the framework must run its tool
 * (never Herald's), send the result back, and the model must see both tools' results.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { type BaseMessage, HumanMessage } from '@langchain/core/messages';
import { tool as langchainTool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import {
  Agent,
  tool as agentsTool,
  OpenAIChatCompletionsModel,
  OpenAIResponsesModel,
  run,
  setTracingDisabled,
} from '@openai/agents';
import { tool as aiTool, generateText, stepCountIs, streamText } from 'ai';
import { z } from 'zod';
import { startTestServer, type TestServer } from './api-test-server.ts';

setTracingDisabled(true);

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
afterEach(() => t?.upstream.clear());
after(async () => {
  await t?.close();
});

/** The client's tool, as each framework declares it; every call is recorded. */
const weatherCalls: string[] = [];
const weather = async ({ city }: { city: string }) => {
  weatherCalls.push(city);
  return `sunny in ${city}`;
};
const cityArgs = z.object({ city: z.string() });

/** Herald's read_file in one model turn, the client's get_weather in the next, then the answer. */
function scriptMixedRun(): number {
  t.upstream.enqueue(
    { text: 'Checking.', toolCalls: [{ name: 'read_file', arguments: { path: 'notes.txt' } }] },
    { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
    { text: 'It is sunny in Oslo.' },
  );
  weatherCalls.length = 0;
  return t.upstream.requests.length;
}

// biome-ignore lint/suspicious/noExplicitAny: upstream bodies are arbitrary JSON
type Wire = any;

/**
 * What the upstream saw on the final call: the whole run, Herald's tool round included, with every
 * call answered; and get_weather was offered beside Herald's tools on every call.
 */
function assertModelSawBothTools(since: number): void {
  const requests = t.upstream.requests.slice(since);
  assert.equal(requests.length, 3, 'three model calls');
  for (const request of requests) {
    const names = request.body.tools.map((x: Wire) => x.function.name);
    assert.ok(names.includes('get_weather') && names.includes('read_file'), names.join(','));
  }
  const messages: Wire[] = requests[2]!.body.messages.slice(1);
  const shape = messages.map((m) =>
    m.role === 'assistant'
      ? `assistant:${m.tool_calls?.map((c: Wire) => c.function.name).join('+')}`
      : m.role,
  );
  assert.deepEqual(shape, ['user', 'assistant:read_file', 'tool', 'assistant:get_weather', 'tool']);
  assert.match(messages[2].content, /not found|no such/i);
  assert.equal(messages[2].tool_call_id, messages[1].tool_calls[0].id);
  assert.equal(messages[4].tool_call_id, messages[3].tool_calls[0].id);
  assert.equal(messages[4].content, 'sunny in Oslo');
  assert.deepEqual(weatherCalls, ['Oslo']);
}

describe('OpenAI Agents SDK (@openai/agents)', { timeout: 30_000 }, () => {
  const getWeather = agentsTool({
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: cityArgs,
    execute: weather,
  });
  const models = {
    responses: () => new OpenAIResponsesModel(t.client, 'herald'),
    chat: () => new OpenAIChatCompletionsModel(t.client, 'herald'),
  };
  for (const [kind, model] of Object.entries(models)) {
    for (const stream of [false, true]) {
      it(`runs its own tool after Herald's hosted one (${kind}, ${stream ? 'streamed' : 'not streamed'})`, async () => {
        const since = scriptMixedRun();
        const agent = new Agent({
          name: 'assistant',
          instructions: 'Be brief.',
          tools: [getWeather],
          model: model(),
        });
        let output: unknown;
        if (stream) {
          const result = await run(agent, 'Weather in Oslo?', { stream: true });
          for await (const _event of result) {
            // drain
          }
          await result.completed;
          output = result.finalOutput;
        } else {
          output = (await run(agent, 'Weather in Oslo?')).finalOutput;
        }
        assert.equal(output, 'It is sunny in Oslo.');
        assertModelSawBothTools(since);
      });
    }
  }

  it('a turn with only hosted tool use ends without ModelBehaviorError', async () => {
    t.upstream.enqueue(
      { toolCalls: [{ name: 'terminal', arguments: { command: 'echo hi' } }] },
      { text: 'Done.' },
    );
    const agent = new Agent({ name: 'assistant', tools: [getWeather], model: models.responses() });
    const result = await run(agent, 'say hi in the shell');
    assert.equal(result.finalOutput, 'Done.');
    assert.ok(
      result.newItems.some(
        (item) => item.type === 'tool_call_item' && item.rawItem.type === 'hosted_tool_call',
      ),
    );
  });
});

describe('LangChain ChatOpenAI with bindTools', { timeout: 30_000 }, () => {
  const getWeather = langchainTool(weather, {
    name: 'get_weather',
    description: 'The weather in a city.',
    schema: cityArgs,
  });
  for (const useResponsesApi of [false, true]) {
    it(`hands back its tool call and resumes with the result (useResponsesApi: ${useResponsesApi})`, async () => {
      const since = scriptMixedRun();
      const llm = new ChatOpenAI({
        model: 'herald',
        apiKey: 'not-needed',
        configuration: { baseURL: t.baseURL },
        maxRetries: 0,
        useResponsesApi,
      }).bindTools([getWeather]);
      const messages: BaseMessage[] = [new HumanMessage('Weather in Oslo?')];
      const first = await llm.invoke(messages);
      assert.deepEqual(
        first.tool_calls?.map((c) => [c.name, c.args]),
        [['get_weather', { city: 'Oslo' }]],
      );
      messages.push(first, await getWeather.invoke(first.tool_calls![0]!));
      const second = await llm.invoke(messages);
      assert.equal(second.text, 'It is sunny in Oslo.');
      assertModelSawBothTools(since);
    });
  }
});

describe('Vercel AI SDK tools with execute', { timeout: 30_000 }, () => {
  const tools = {
    get_weather: aiTool({ description: 'The weather in a city.', inputSchema: cityArgs, execute: weather }),
  };
  const provider = () => createOpenAI({ baseURL: t.baseURL, apiKey: 'not-needed' });
  it('generateText with openai.chat() runs its tool and answers', async () => {
    const since = scriptMixedRun();
    const result = await generateText({
      model: provider().chat('herald'),
      prompt: 'Weather in Oslo?',
      tools,
      stopWhen: stepCountIs(4),
      maxRetries: 0,
    });
    assert.equal(result.steps.at(-1)?.text, 'It is sunny in Oslo.');
    assertModelSawBothTools(since);
  });

  it('streamText with openai.responses() runs its tool and answers', async () => {
    const since = scriptMixedRun();
    const result = streamText({
      model: provider().responses('herald'),
      prompt: 'Weather in Oslo?',
      tools,
      stopWhen: stepCountIs(4),
      maxRetries: 0,
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    assert.match(text, /It is sunny in Oslo\.$/);
    assert.equal(await result.finishReason, 'stop');
    assertModelSawBothTools(since);
  });
});
