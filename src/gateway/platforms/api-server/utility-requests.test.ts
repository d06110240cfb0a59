import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChatCompletionRequest } from './chat-completions-request.ts';
import { classifyUtilityRequest } from './utility-requests.ts';

const classify = (body: Record<string, unknown>) =>
  classifyUtilityRequest(parseChatCompletionRequest(body))?.rule;
const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });
const system = (content: string) => ({ role: 'system', content });

test('each frontend task prompt is recognised by its rule', () => {
  const owuiHistory =
    '### Chat History:\n<chat_history>\nUSER: list files\nASSISTANT: a.txt\n</chat_history>';
  assert.equal(
    classify({
      stream: false,
      messages: [
        user(
          `### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n${owuiHistory}`,
        ),
      ],
    }),
    'open-webui:title',
  );
  assert.equal(
    classify({
      stream: false,
      messages: [user(`### Task:\nGenerate 1-3 broad tags categorizing the main themes.\n${owuiHistory}`)],
    }),
    'open-webui:tags',
  );
  assert.equal(
    classify({
      stream: true,
      messages: [
        user(
          'Provide a concise, 5-word-or-less title for the conversation, using its same language.\n\nConversation:\nUser: hi\nAI: Hello',
        ),
      ],
    }),
    'librechat:title',
  );
  assert.equal(
    classify({
      stream: true,
      messages: [
        system('Current time: 10:00:00'),
        user('hi'),
        assistant('Hello'),
        system(
          'Summarize the discussion briefly in 200 words or less to use as a prompt for future context.',
        ),
      ],
    }),
    'nextchat:summarize',
  );
  assert.equal(
    classify({
      stream: true,
      messages: [
        system('You are a professional conversation summarizer. Generate a concise title.'),
        user('user: hi\nassistant: Hello'),
      ],
    }),
    'lobechat:topic',
  );
  assert.equal(
    classify({
      messages: [user('Based on the chat history, give this conversation a name.\nKeep it short.')],
    }),
    'chatbox:name',
  );
});

test('tool_choice none without tools is a utility request; with client tools it is a normal turn', () => {
  assert.equal(classify({ tool_choice: 'none', messages: [user('hello')] }), 'tool-choice-none');
  const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
  assert.equal(classify({ tool_choice: 'none', tools, messages: [user('hello')] }), undefined);
});

test('the generic rule needs a pasted transcript and a background-task hint', () => {
  const pasted =
    'Give a title for this chat, JSON only.\n\nUser: how do I bake bread?\nAssistant: Mix flour and water.';
  assert.equal(classify({ stream: false, messages: [user(pasted)] }), 'generic:transcript-task');
  assert.equal(
    classify({ stream: true, messages: [user(pasted)] }),
    'generic:transcript-task',
    'asks for JSON only',
  );
});

test('false positives: people asking for titles and summaries in a normal chat reach the agent', () => {
  assert.equal(classify({ stream: true, messages: [user('give me a title for my essay')] }), undefined);
  assert.equal(
    classify({ stream: false, messages: [user('give me a title for my essay about bread, JSON only')] }),
    undefined,
  );
  assert.equal(
    classify({ stream: true, messages: [user('Summarize this article: https://example.com')] }),
    undefined,
  );
  // A transcript pasted mid-conversation: earlier turns make it a chat, not a background task.
  assert.equal(
    classify({
      stream: false,
      messages: [
        user('hi'),
        assistant('Hello'),
        user('Title for this?\nUser: a\nAssistant: b\nOnly return the title'),
      ],
    }),
    undefined,
  );
  // A streamed paste with no output-format hint is a person asking.
  assert.equal(
    classify({ stream: true, messages: [user('Can you summarize our chat?\nUser: hi\nAssistant: Hello')] }),
    undefined,
  );
});
