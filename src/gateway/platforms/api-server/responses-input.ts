/**
 * Responses API items in and out of the agent's chat format. `normalizeInputItems` turns a request's
 * `input` (a string or items) into canonical stored items, each with an id, resolving `item_reference`s
 * from the store and rejecting what Herald cannot honour (files) with a 400 naming the `param`.
 * `itemsToAgentContext` turns stored items (history + this turn) into the agent's messages and system
 * prompt layers. It does not run anything or decide what to store.
 */
import { z } from 'zod';
import { summaryMessage } from '../../../agent/index.ts';
import type { ChatMessage, ContentPart, ToolCall } from '../../../model/index.ts';
import { newId, type ResponseItem, type ResponseStore } from '../../../store/index.ts';
import { ApiError, formatParam, fromZodIssues } from './errors.ts';

const imageDetail = z.enum(['auto', 'low', 'high']).nullish();

const contentPart = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('input_text'), text: z.string() }),
  z.looseObject({ type: z.literal('output_text'), text: z.string() }),
  // Some clients send chat-style `text` parts; they mean the same thing.
  z.looseObject({ type: z.literal('text'), text: z.string() }),
  z.looseObject({ type: z.literal('refusal'), refusal: z.string() }),
  z.looseObject({
    type: z.literal('input_image'),
    image_url: z.string().nullish(),
    file_id: z.string().nullish(),
    detail: imageDetail,
  }),
  z.looseObject({ type: z.literal('input_file') }),
]);
type ContentPartInput = z.infer<typeof contentPart>;

// Replayed items carry `id: null`, `status`, `phase`, `annotations`, `logprobs`…: nulls and extra keys pass.
const messageItem = z.looseObject({
  type: z.literal('message').optional(),
  id: z.string().nullish(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]),
});
const functionCallItem = z.looseObject({
  type: z.literal('function_call'),
  id: z.string().nullish(),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});
const functionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  id: z.string().nullish(),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]),
});
/**
 * A tool Herald ran (hosted), replayed by clients that send output back as input. The OpenAI Agents SDK
 * drops `output` when it replays one; the stored item then supplies it.
 */
const mcpCallItem = z.looseObject({
  type: z.literal('mcp_call'),
  id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  output: z.string().nullish(),
  error: z.unknown().optional(),
});
/** A `compaction` item from `POST /v1/responses/compact`: Herald's `encrypted_content` is the summary text. */
const compactionItem = z.looseObject({
  type: z.literal('compaction'),
  id: z.string().nullish(),
  encrypted_content: z.string().min(1),
});
const itemReference = z.looseObject({ type: z.literal('item_reference').optional(), id: z.string().min(1) });

function parseAt<T extends z.ZodType>(schema: T, value: unknown, path: (string | number)[]): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw fromZodIssues(parsed.error.issues.map((issue) => ({ ...issue, path: [...path, ...issue.path] })));
}

/**
 * The request's `input` as canonical items (ids assigned, references resolved). Reasoning items are
 * dropped: Herald's upstream never produced them and cannot use them.
 */
export async function normalizeInputItems(
  input: string | Record<string, unknown>[],
  store: ResponseStore,
  /** Only this owner's items can be referenced. */
  owner: string,
): Promise<ResponseItem[]> {
  if (typeof input === 'string') return [userTextItem(input)];
  const items: ResponseItem[] = [];
  for (const [index, raw] of input.entries()) {
    const path: (string | number)[] = ['input', index];
    const type = typeof raw.type === 'string' ? raw.type : undefined;
    if (type === 'item_reference' || (type === undefined && raw.role === undefined && 'id' in raw)) {
      const ref = parseAt(itemReference, raw, path);
      const found = await store.getItem(ref.id, owner);
      if (!found) {
        throw new ApiError(400, `Item with id '${ref.id}' not found.`, {
          param: formatParam([...path, 'id']),
          code: 'item_not_found',
        });
      }
      items.push(found);
    } else if (type === undefined || type === 'message') {
      items.push(messageToItem(parseAt(messageItem, raw, path), path));
    } else if (type === 'function_call') {
      const call = parseAt(functionCallItem, raw, path);
      items.push({ ...call, id: call.id ?? newId('fc'), status: 'completed' });
    } else if (type === 'function_call_output') {
      const out = parseAt(functionCallOutputItem, raw, path);
      items.push({
        ...out,
        id: out.id ?? newId('fco'),
        output: flattenOutput(out.output),
        status: 'completed',
      });
    } else if (type === 'mcp_call') {
      const call = parseAt(mcpCallItem, raw, path);
      const stored =
        call.output == null && call.error == null ? await store.getItem(call.id, owner) : undefined;
      items.push(stored?.type === 'mcp_call' ? stored : call);
    } else if (type === 'compaction') {
      const item = parseAt(compactionItem, raw, path);
      items.push({
        id: item.id ?? newId('cmp'),
        type: 'compaction',
        encrypted_content: item.encrypted_content,
      });
    } else if (type === 'reasoning') {
      // nothing to replay
    } else {
      throw new ApiError(400, `Input items of type '${type}' are not supported by this server.`, {
        param: formatParam([...path, 'type']),
        code: 'unsupported_item_type',
      });
    }
  }
  return items;
}

/**
 * OpenAI's rule for a turn's items (the previous response's output, then this input): every
 * `function_call` is answered by a `function_call_output`, so the upstream never sees a call left open.
 */
export function rejectUnansweredCalls(items: ResponseItem[]): void {
  const answered = new Set(items.filter((i) => i.type === 'function_call_output').map((i) => i.call_id));
  const missing = items.find((i) => i.type === 'function_call' && !answered.has(i.call_id));
  if (missing) {
    throw new ApiError(400, `No tool output found for function call ${String(missing.call_id)}.`, {
      param: 'input',
      code: 'tool_output_missing',
    });
  }
}

function userTextItem(text: string): ResponseItem {
  return {
    id: newId('msg'),
    type: 'message',
    role: 'user',
    status: 'completed',
    content: [{ type: 'input_text', text }],
  };
}

function messageToItem(message: z.infer<typeof messageItem>, path: (string | number)[]): ResponseItem {
  const assistant = message.role === 'assistant';
  const parts: ContentPartInput[] =
    typeof message.content === 'string'
      ? [{ type: assistant ? 'output_text' : 'input_text', text: message.content }]
      : message.content.map((part, i) => parseAt(contentPart, part, [...path, 'content', i]));
  const content = parts.map((part, i) => canonicalPart(part, assistant, [...path, 'content', i]));
  return {
    id: message.id ?? newId('msg'),
    type: 'message',
    role: message.role,
    status: 'completed',
    content,
  };
}

function canonicalPart(
  part: ContentPartInput,
  assistant: boolean,
  path: (string | number)[],
): Record<string, unknown> {
  switch (part.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      return assistant
        ? { type: 'output_text', text: part.text, annotations: [] }
        : { type: 'input_text', text: part.text };
    case 'refusal':
      return assistant
        ? { type: 'refusal', refusal: part.refusal }
        : { type: 'input_text', text: part.refusal };
    case 'input_image': {
      if (!part.image_url) {
        throw new ApiError(
          400,
          'Images must be given as an http(s) or data: URL in image_url; file_id is not supported.',
          {
            param: formatParam([...path, 'image_url']),
            code: 'unsupported_content_type',
          },
        );
      }
      return { type: 'input_image', image_url: part.image_url, detail: part.detail ?? 'auto' };
    }
    case 'input_file':
      throw new ApiError(400, 'File inputs are not supported by this server; send text or images.', {
        param: formatParam(path),
        code: 'unsupported_content_type',
      });
    default: {
      const never: never = part;
      return never;
    }
  }
}

function flattenOutput(output: string | { type: string; [k: string]: unknown }[]): string {
  if (typeof output === 'string') return output;
  return output
    .map((part) => (typeof part.text === 'string' ? part.text : ''))
    .filter(Boolean)
    .join('\n');
}

/** What the agent gets from a list of items: the conversation and the system/developer layers. */
export interface AgentContext {
  messages: ChatMessage[];
  systemPrompts: string[];
}

/**
 * Items (oldest first) as agent input, after `base` (a stored compacted context) when given.
 * System/developer messages become prompt layers in order; `function_call` items (the client's tools)
 * join the assistant message they follow (one assistant turn can carry text and several calls);
 * `function_call_output` items become tool messages; an `mcp_call` item (a tool Herald ran) becomes
 * both, so the upstream always sees each call answered. A `compaction` item stands for the
 * conversation before it: the messages so far give way to its summary (prompt layers stay).
 */
export function itemsToAgentContext(items: ResponseItem[], base?: AgentContext): AgentContext {
  let messages: ChatMessage[] = [...(base?.messages ?? [])];
  const systemPrompts: string[] = [...(base?.systemPrompts ?? [])];
  // Results of consecutive `mcp_call` items wait here so the calls share one assistant turn.
  let pendingResults: ChatMessage[] = [];
  const attachCall = (call: ToolCall) => {
    const last = messages.at(-1);
    if (last?.role === 'assistant') last.toolCalls = [...(last.toolCalls ?? []), call];
    else messages.push({ role: 'assistant', content: null, toolCalls: [call] });
  };
  for (const item of items) {
    if (item.type !== 'mcp_call' && pendingResults.length > 0) {
      messages.push(...pendingResults);
      pendingResults = [];
    }
    if (item.type === 'message') {
      const role = item.role;
      const parts = Array.isArray(item.content) ? (item.content as Record<string, unknown>[]) : [];
      if (role === 'system' || role === 'developer') {
        systemPrompts.push(textOf(parts));
      } else if (role === 'assistant') {
        messages.push({ role: 'assistant', content: textOf(parts) });
      } else {
        messages.push({ role: 'user', content: userContent(parts) });
      }
    } else if (item.type === 'compaction') {
      messages = [summaryMessage(String(item.encrypted_content))];
    } else if (item.type === 'function_call') {
      attachCall({ id: String(item.call_id), name: String(item.name), arguments: String(item.arguments) });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', toolCallId: String(item.call_id), content: String(item.output) });
    } else if (item.type === 'mcp_call') {
      // The item id stands in for the tool call id: it only has to pair the call with its result.
      attachCall({ id: item.id, name: String(item.name), arguments: String(item.arguments) });
      const output = item.output ?? item.error ?? 'The tool did not finish.';
      pendingResults.push({ role: 'tool', toolCallId: item.id, content: String(output) });
    }
  }
  messages.push(...pendingResults);
  return { messages, systemPrompts };
}

function textOf(parts: Record<string, unknown>[]): string {
  return parts
    .map((p) => (typeof p.text === 'string' ? p.text : typeof p.refusal === 'string' ? p.refusal : ''))
    .join('');
}

/** Text-only content stays a string (what most upstreams expect); images make it a part list. */
function userContent(parts: Record<string, unknown>[]): string | ContentPart[] {
  if (parts.every((p) => p.type === 'input_text')) return textOf(parts);
  return parts.map((p): ContentPart => {
    if (p.type === 'input_image') {
      const detail = p.detail === 'low' || p.detail === 'high' ? p.detail : 'auto';
      return { type: 'image_url', image_url: { url: String(p.image_url), detail } };
    }
    return { type: 'text', text: String(p.text ?? '') };
  });
}
