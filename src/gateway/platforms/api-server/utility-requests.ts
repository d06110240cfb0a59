/**
 * Recognises a chat frontend's background request — a chat title, tags, follow-up suggestions, a search
 * query, an autocompletion, a memory summary — so the chat route can serve it lightly: straight to the
 * model, without the agent's prompt and tools, and without storing it as a conversation turn. Run as an
 * agent task, such a request would cost several thousand prompt tokens and, when the chat being titled
 * asked for work, run that work again and return the tool's output as the "title".
 *
 * Two kinds of rule: the task prompts the six frontends Herald is tested with ship (`KNOWN_TASK_PROMPTS`,
 * matched by short distinctive fragments of their published templates), and a generic rule for other
 * clients: a final user message that asks for a title/tags/follow-ups/summary over a transcript pasted
 * into it, with a background-task hint (not streamed, or asking for JSON / only the answer). Plus
 * `tool_choice: "none"` with no tools. It only classifies; the route decides what to do with the answer.
 */
import type { ChatMessage } from '../../../model/types.ts';
import type { ParsedChatCompletionRequest } from './chat-completions-request.ts';

/** Where a task prompt sits: a leading system prompt, or the request's final message (user or system). */
type PromptPlace = 'system' | 'last';

export interface KnownTaskPrompt {
  /** `frontend:task`, logged as the rule that matched. */
  rule: string;
  place: PromptPlace;
  /** Every fragment must appear (case-insensitive) in the message at `place`. */
  fragments: string[];
}

/**
 * The background-task prompts of the frontends in docs/frontends.md, from their published sources.
 * AnythingLLM has none: it names threads from the first message without a model call.
 */
export const KNOWN_TASK_PROMPTS: readonly KnownTaskPrompt[] = [
  // Open WebUI (backend/open_webui/config.py, DEFAULT_*_PROMPT_TEMPLATE): one user message, stream false.
  { rule: 'open-webui:title', place: 'last', fragments: ['### Task:', '3-5 word title'] },
  { rule: 'open-webui:tags', place: 'last', fragments: ['### Task:', 'Generate 1-3 broad tags'] },
  {
    rule: 'open-webui:follow-ups',
    place: 'last',
    fragments: ['### Task:', 'Suggest 3-5 relevant follow-up questions'],
  },
  {
    rule: 'open-webui:queries',
    place: 'last',
    fragments: ['### Task:', 'determine the necessity of generating search queries'],
  },
  {
    rule: 'open-webui:autocomplete',
    place: 'last',
    fragments: ['### Task:', 'You are an autocompletion system'],
  },
  {
    rule: 'open-webui:image-prompt',
    place: 'last',
    fragments: ['### Task:', 'prompt for am image generation task'],
  },
  {
    rule: 'open-webui:tool-selection',
    place: 'system',
    fragments: ['Available Tools:', 'choose and return the correct tool(s)'],
  },
  // LibreChat (@librechat/agents title runnables): the completion and the structured title prompt.
  {
    rule: 'librechat:title',
    place: 'last',
    fragments: ['Provide a concise, 5-word-or-less title for the conversation'],
  },
  {
    rule: 'librechat:title',
    place: 'last',
    fragments: ['Analyze this conversation and provide', 'detected language'],
  },
  // NextChat (app/locales: Store.Prompt.Topic after the history; Store.Prompt.Summarize as a trailing system message).
  {
    rule: 'nextchat:topic',
    place: 'last',
    fragments: ['four to five word title summarizing our conversation'],
  },
  { rule: 'nextchat:topic', place: 'last', fragments: ['使用四到五个字直接返回这句话的简要主题'] },
  {
    rule: 'nextchat:summarize',
    place: 'last',
    fragments: ['Summarize the discussion briefly in 200 words or less'],
  },
  { rule: 'nextchat:summarize', place: 'last', fragments: ['简要总结一下对话内容，用作后续的上下文提示'] },
  // LobeChat (packages/prompts/src/chains): the system prompt of each chain.
  { rule: 'lobechat:topic', place: 'system', fragments: ['You are a professional conversation summarizer'] },
  { rule: 'lobechat:topic', place: 'system', fragments: ['summarize user conversations into titles'] },
  { rule: 'lobechat:topic', place: 'system', fragments: ['将用户的会话总结为 10 个字以内的标题'] },
  { rule: 'lobechat:agent-name', place: 'system', fragments: ['你是一名擅长起名的起名大师'] },
  { rule: 'lobechat:agent-description', place: 'system', fragments: ['你是一名擅长技能总结的助理'] },
  { rule: 'lobechat:agent-tags', place: 'system', fragments: ['你是一名擅长会话标签总结的助理'] },
  { rule: 'lobechat:emoji', place: 'system', fragments: ['You are an emoji expert who selects'] },
  // ChatBox (src/shared or src/packages prompts.ts, nameConversation): older and newer wording.
  { rule: 'chatbox:name', place: 'last', fragments: ['Name the conversation based on the chat records'] },
  {
    rule: 'chatbox:name',
    place: 'last',
    fragments: ['Based on the chat history, give this conversation a name'],
  },
];

export interface UtilityMatch {
  /** Which rule matched: a `KNOWN_TASK_PROMPTS` rule, `generic:transcript-task` or `tool-choice-none`. */
  rule: string;
}

/** The request's view the rules need; a parsed chat request satisfies it. */
export type UtilitySignals = Pick<
  ParsedChatCompletionRequest,
  'systemPrompts' | 'messages' | 'stream' | 'clientToolFields' | 'sampling'
>;

export function classifyUtilityRequest(request: UtilitySignals): UtilityMatch | undefined {
  const known = matchKnownPrompt(request);
  if (known) return { rule: known };
  const { tools, tool_choice: toolChoice } = request.clientToolFields;
  // With tools, `none` means "not the client's tools this turn" (client-tools.ts), not a background task.
  if (toolChoice === 'none' && !(Array.isArray(tools) && tools.length > 0))
    return { rule: 'tool-choice-none' };
  if (isTranscriptTask(request)) return { rule: 'generic:transcript-task' };
  return undefined;
}

function matchKnownPrompt(request: UtilitySignals): string | undefined {
  const last = request.messages.at(-1);
  const lastText = last && (last.role === 'user' || last.role === 'system') ? textOf(last).toLowerCase() : '';
  const systemText = request.systemPrompts.join('\n').toLowerCase();
  for (const prompt of KNOWN_TASK_PROMPTS) {
    const text = prompt.place === 'system' ? systemText : lastText;
    if (text && prompt.fragments.every((fragment) => text.includes(fragment.toLowerCase())))
      return prompt.rule;
  }
  return undefined;
}

const TASK_WORDS =
  /\b(title|tags?|follow[- ]?ups?|summar(?:y|ise|ize)|(?:re)?name (?:this|the) (?:conversation|chat))\b/i;
const TRANSCRIPT_TAG = /<(chat_history|conversation|transcript|history)>/i;
const USER_LINE = /^\s*(user|human)\s*:/im;
const ASSISTANT_LINE = /^\s*(assistant|ai|bot|model)\s*:/im;
const ANSWER_ONLY =
  /\bjson\b|\bonly (return|respond|reply|answer|give|output)|\bnothing else\b|\bjust (provide|return|give)\b/i;

/**
 * The generic rule: a request that is only a final user message (no earlier assistant turn) asking for a
 * title, tags, follow-ups or a summary of a transcript pasted into it, sent the way background tasks are
 * (not streamed, or demanding JSON / only the answer). A person typing "give me a title for my essay"
 * has no pasted transcript, and a person pasting one mid-chat has earlier turns: both reach the agent.
 */
function isTranscriptTask(request: UtilitySignals): boolean {
  const last = request.messages.at(-1);
  if (last?.role !== 'user' || request.messages.some((m) => m.role === 'assistant')) return false;
  const text = textOf(last);
  if (!TASK_WORDS.test(text)) return false;
  const transcript = TRANSCRIPT_TAG.test(text) || (USER_LINE.test(text) && ASSISTANT_LINE.test(text));
  if (!transcript) return false;
  const format = request.sampling.responseFormat?.type;
  return !request.stream || format === 'json_object' || format === 'json_schema' || ANSWER_ONLY.test(text);
}

function textOf(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  if (message.content === null) return '';
  return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}
