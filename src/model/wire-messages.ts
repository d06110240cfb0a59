/**
 * Translation between Herald's `ChatMessage`/`ToolSpec` (camelCase, provider-neutral) and the OpenAI
 * chat-completions wire format (snake_case `tool_calls`, `tool_call_id`, function tools). Only the
 * model client uses it; it does not validate input (callers hold already-validated values) and knows
 * nothing of HTTP or retries.
 */
import type OpenAI from 'openai';
import type { ChatMessage, ModelRequest, ResponseFormat, ToolChoice, ToolSpec } from './types.ts';

type WireMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type WireTool = OpenAI.Chat.Completions.ChatCompletionFunctionTool;
type WireParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming;

function toWireMessage(message: ChatMessage): WireMessage {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return message.name === undefined
        ? { role: 'user', content: message.content }
        : { role: 'user', content: message.content, name: message.name };
    case 'assistant': {
      const wire: OpenAI.Chat.Completions.ChatCompletionAssistantMessageParam = {
        role: 'assistant',
        content: message.content,
      };
      // An empty tool_calls array is rejected by several upstreams; omit it instead.
      if (message.toolCalls?.length) {
        wire.tool_calls = message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        }));
      }
      return wire;
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}

/** Only the fields the tool has: a client's schema and `strict` flag reach the upstream untouched. */
function toWireTool(tool: ToolSpec): WireTool {
  const fn: WireTool['function'] = { name: tool.name };
  if (tool.description !== undefined) fn.description = tool.description;
  if (tool.parameters !== undefined) fn.parameters = tool.parameters;
  if (tool.strict !== undefined) fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function toWireToolChoice(choice: ToolChoice): WireParams['tool_choice'] {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

/**
 * A system message after the conversation started, as a user message: for upstreams (and chat templates)
 * that accept system messages only at the start. It stays in place, marked as an instruction.
 */
function lateSystemAsUser(messages: ChatMessage[]): ChatMessage[] {
  const start = messages.findIndex((m) => m.role !== 'system');
  if (start < 0) return messages;
  return messages.map((m, i) =>
    i > start && m.role === 'system' ? { role: 'user', content: `[System instruction]\n${m.content}` } : m,
  );
}

/** The streaming request body; optional settings are sent only when given, so upstream defaults apply. */
export function toWireParams(
  request: ModelRequest,
  defaultMaxTokens: number | undefined,
  midConversationSystem: 'system' | 'user' = 'system',
): WireParams {
  const messages = midConversationSystem === 'user' ? lateSystemAsUser(request.messages) : request.messages;
  const params: WireParams = {
    model: request.model,
    messages: messages.map(toWireMessage),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.tools?.length) {
    params.tools = request.tools.map(toWireTool);
    if (request.toolChoice !== undefined) params.tool_choice = toWireToolChoice(request.toolChoice);
    if (request.parallelToolCalls !== undefined) params.parallel_tool_calls = request.parallelToolCalls;
  }
  const maxTokens = request.maxTokens ?? defaultMaxTokens;
  if (maxTokens !== undefined) params.max_tokens = maxTokens;
  if (request.temperature !== undefined) params.temperature = request.temperature;
  if (request.topP !== undefined) params.top_p = request.topP;
  if (request.stop !== undefined) params.stop = request.stop;
  if (request.seed !== undefined) params.seed = request.seed;
  if (request.presencePenalty !== undefined) params.presence_penalty = request.presencePenalty;
  if (request.frequencyPenalty !== undefined) params.frequency_penalty = request.frequencyPenalty;
  if (request.logitBias !== undefined) params.logit_bias = request.logitBias;
  if (request.reasoningEffort !== undefined) params.reasoning_effort = request.reasoningEffort;
  if (request.verbosity !== undefined) params.verbosity = request.verbosity;
  if (request.responseFormat !== undefined) params.response_format = toWireFormat(request.responseFormat);
  return params;
}

function toWireFormat(format: ResponseFormat): WireParams['response_format'] {
  if (format.type !== 'json_schema') return { type: format.type };
  const { type, ...jsonSchema } = format;
  return { type, json_schema: jsonSchema };
}
