/**
 * The Chat Completions request at the edge: a zod schema that accepts everything real clients send
 * (unknown keys pass through and are ignored) and refuses, with a 400 naming `param`, what Herald cannot
 * honour (`n > 1`, empty `messages`, unknown roles, file/audio parts). `parseChatCompletionRequest`
 * turns the body into typed fields plus the agent's view of the conversation: the caller's leading
 * system/developer messages become layered system prompts; a system/developer message after the first
 * other message stays where it was sent (a frontend's trailing "Summarize the discussion…" must come
 * after the history it speaks of); everything else becomes `ChatMessage`s. It does not run anything.
 */
import { z } from 'zod';
import type { ChatMessage, ContentPart, SamplingSettings, ToolCall } from '../../../model/types.ts';
import type { ClientToolFields } from './client-tools.ts';
import { ApiError, fromZodIssues } from './errors.ts';
import { chatSamplingFields, chatSamplingSettings } from './sampling-params.ts';
import { firstUnansweredToolCalls } from './unanswered-tool-calls.ts';

export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().nullish(),
  messages: z.array(z.unknown(), { error: 'expected an array of messages' }).min(1, {
    error: 'messages must contain at least one message',
  }),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  n: z
    .number()
    .int()
    .min(1)
    .max(1, { error: 'Herald returns one choice per request: n must be 1.' })
    .nullish(),
  ...chatSamplingFields,
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
});

/** A field clients send as `null` when unset; the union makes a wrong value's error say so. */
const nullable = <T extends z.ZodType>(schema: T) => z.union([schema, z.null()]).optional();

/**
 * A content part of a text message. What the SDKs replay is accepted: chat `text`/`refusal` parts and
 * Responses-style `output_text`/`input_text` parts, with `refusal: null`, `annotations`, `logprobs` or a
 * stray `role` alongside.
 */
const textPart = z.looseObject({
  type: z.string(),
  text: nullable(z.string()),
  refusal: nullable(z.string()),
});
const textContent = z.union([z.string(), z.array(textPart)]);

const toolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const messageSchemas = {
  system: z.looseObject({ role: z.literal('system'), content: textContent }),
  developer: z.looseObject({ role: z.literal('developer'), content: textContent }),
  user: z.looseObject({ role: z.literal('user'), content: textContent, name: nullable(z.string()) }),
  assistant: z.looseObject({
    role: z.literal('assistant'),
    content: nullable(textContent),
    tool_calls: nullable(z.array(toolCallSchema)),
  }),
  tool: z.looseObject({ role: z.literal('tool'), tool_call_id: z.string(), content: textContent }),
} as const;

type Role = keyof typeof messageSchemas;

export interface ParsedChatCompletionRequest {
  /** The model id as the client sent it (echoed in responses). */
  model: string | undefined;
  stream: boolean;
  includeUsage: boolean;
  /** Sampling parameters the client set, forwarded upstream. */
  sampling: SamplingSettings;
  /** `user` / `safety_identifier`: scopes stored transcripts per end user when a frontend sends it. */
  endUser: string | undefined;
  /** The leading system/developer messages, in order (later ones are `system` entries of `messages`). */
  systemPrompts: string[];
  messages: ChatMessage[];
  /** `tools`, `tool_choice`, `parallel_tool_calls` as sent; client-tools.ts validates them per profile. */
  clientToolFields: ClientToolFields;
}

/** Validates a request body; throws `ApiError` 400 naming the offending `param`. */
export function parseChatCompletionRequest(body: unknown): ParsedChatCompletionRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'The request body must be a JSON object.', { code: 'invalid_request' });
  }
  const parsed = chatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) {
    const error = fromZodIssues(parsed.error.issues);
    if (error.param === 'n')
      throw new ApiError(400, error.message, { param: 'n', code: 'unsupported_value' });
    throw error;
  }
  const request = parsed.data;
  const systemPrompts: string[] = [];
  const messages: ChatMessage[] = [];
  /** Each message's index in the request, for error params (system messages are not in `messages`). */
  const requestIndex: number[] = [];
  request.messages.forEach((raw, index) => {
    const converted = convertMessage(raw, index);
    if (converted.kind !== 'system') requestIndex[messages.push(converted.message) - 1] = index;
    else if (messages.length === 0) systemPrompts.push(converted.text);
    else requestIndex[messages.push({ role: 'system', content: converted.text }) - 1] = index;
  });
  const unanswered = firstUnansweredToolCalls(messages);
  if (unanswered) {
    throw new ApiError(
      400,
      "An assistant message with 'tool_calls' must be followed by tool messages responding to each " +
        `'tool_call_id'. The following tool_call_ids did not have response messages: ${unanswered.callIds.join(', ')}`,
      { param: `messages[${requestIndex[unanswered.index]}]`, code: 'tool_output_missing' },
    );
  }
  if (!messages.some((m) => m.role === 'user')) {
    throw new ApiError(400, 'messages must contain at least one user message.', {
      param: 'messages',
      code: 'invalid_value',
    });
  }
  return {
    model: request.model ?? undefined,
    stream: request.stream === true,
    includeUsage: request.stream === true && request.stream_options?.include_usage === true,
    sampling: chatSamplingSettings(request),
    endUser: request.safety_identifier ?? request.user ?? undefined,
    systemPrompts,
    messages,
    clientToolFields: {
      tools: request['tools'],
      tool_choice: request['tool_choice'],
      parallel_tool_calls: request['parallel_tool_calls'],
    },
  };
}

type Converted = { kind: 'system'; text: string } | { kind: 'message'; message: ChatMessage };

function convertMessage(raw: unknown, index: number): Converted {
  const param = `messages[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ApiError(400, `${param}: expected a message object.`, {
      param,
      code: 'invalid_value',
    });
  }
  const role = (raw as { role?: unknown }).role;
  if (typeof role !== 'string' || !Object.hasOwn(messageSchemas, role)) {
    throw new ApiError(
      400,
      `${param}.role: expected "system", "developer", "user", "assistant" or "tool", but got ${JSON.stringify(role ?? null)}.`,
      { param: `${param}.role`, code: 'invalid_value' },
    );
  }
  // Unsupported content parts first: their error names the exact part, which a generic schema error would not.
  rejectUnsupportedParts((raw as { content?: unknown }).content, role as Role, param);
  const result = messageSchemas[role as Role].safeParse(raw);
  if (!result.success) {
    throw fromZodIssues(result.error.issues.map((i) => ({ ...i, path: ['messages', index, ...i.path] })));
  }
  const message = result.data;
  switch (message.role) {
    case 'system':
    case 'developer':
      return { kind: 'system', text: flattenText(message.content) };
    case 'user':
      return {
        kind: 'message',
        message: {
          role: 'user',
          content: userContent(message.content, param),
          ...(message.name ? { name: message.name } : {}),
        },
      };
    case 'assistant': {
      const toolCalls: ToolCall[] = (message.tool_calls ?? []).map((c) => ({
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
      }));
      const text = message.content == null ? null : flattenText(message.content);
      return {
        kind: 'message',
        message: { role: 'assistant', content: text, ...(toolCalls.length > 0 ? { toolCalls } : {}) },
      };
    }
    case 'tool':
      return {
        kind: 'message',
        message: { role: 'tool', toolCallId: message.tool_call_id, content: flattenText(message.content) },
      };
  }
}

const TEXT_PARTS = ['text', 'input_text', 'output_text'];
const SUPPORTED_USER_PARTS = new Set([...TEXT_PARTS, 'image_url']);
const SUPPORTED_TEXT_PARTS = new Set([...TEXT_PARTS, 'refusal']);

function rejectUnsupportedParts(content: unknown, role: Role, param: string): void {
  if (!Array.isArray(content)) return;
  const supported = role === 'user' ? SUPPORTED_USER_PARTS : SUPPORTED_TEXT_PARTS;
  content.forEach((part, j) => {
    const type = typeof part === 'object' && part !== null ? (part as { type?: unknown }).type : undefined;
    if (typeof type === 'string' && !supported.has(type)) {
      throw new ApiError(
        400,
        `Content parts of type '${type}' are not supported${role === 'user' ? '; send text or image_url parts' : ` in ${role} messages`}.`,
        { param: `${param}.content[${j}]`, code: 'unsupported_content_type' },
      );
    }
  });
}

function flattenText(content: z.infer<typeof textContent>): string {
  if (typeof content === 'string') return content;
  return content
    .map((p) => p.text ?? p.refusal ?? '')
    .filter((t) => t !== '')
    .join('\n');
}

const imagePartSchema = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.union([
    z.string(),
    z.looseObject({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).nullish() }),
  ]),
});

function userContent(content: z.infer<typeof textContent>, param: string): string | ContentPart[] {
  if (typeof content === 'string') return content;
  return content.map((part, j): ContentPart => {
    const partParam = `${param}.content[${j}]`;
    if (TEXT_PARTS.includes(part.type)) {
      if (typeof part.text !== 'string') {
        throw new ApiError(400, `${partParam}.text: expected a string.`, {
          param: `${partParam}.text`,
          code: 'invalid_value',
        });
      }
      return { type: 'text', text: part.text };
    }
    const image = imagePartSchema.safeParse(part);
    if (!image.success) {
      throw new ApiError(400, `${partParam}: expected {type:"image_url", image_url:{url}}.`, {
        param: `${partParam}.image_url`,
        code: 'invalid_value',
      });
    }
    const spec = image.data.image_url;
    const url = typeof spec === 'string' ? spec : spec.url;
    if (!/^https?:\/\//i.test(url) && !/^data:image\/[a-z0-9.+-]+;base64,/i.test(url)) {
      throw new ApiError(400, 'Image URLs must be http(s) URLs or data:image/…;base64 URLs.', {
        param: `${partParam}.image_url.url`,
        code: 'invalid_image_url',
      });
    }
    const detail = typeof spec === 'string' ? undefined : (spec.detail ?? undefined);
    return { type: 'image_url', image_url: detail ? { url, detail } : { url } };
  });
}
