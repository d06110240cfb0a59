/**
 * The zod schemas of the Responses and Conversations API requests: what `POST /v1/responses` accepts
 * (every field clients send, including the ones Herald ignores) and the list queries. Input items are
 * only checked to be objects here; responses-input.ts validates each item kind with a precise `param`.
 * It does not resolve ids or touch the store.
 */
import { z } from 'zod';
import { fromZodIssues } from './errors.ts';
import {
  reasoningEffortSchema,
  sharedSamplingFields,
  textFormatSchema,
  verbositySchema,
} from './sampling-params.ts';

/** OpenAI's metadata limits: at most 16 pairs, keys ≤ 64 chars, values ≤ 512 chars. */
export const metadataSchema = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, 'metadata can hold at most 16 key-value pairs');

const inputItem = z.looseObject({});

export const createResponseSchema = z.looseObject({
  model: z.string().nullish(),
  input: z.union([z.string(), z.array(inputItem)]).nullish(),
  instructions: z.string().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  conversation: z.union([z.string().min(1), z.looseObject({ id: z.string().min(1) })]).nullish(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({}).nullish(),
  background: z.boolean().nullish(),
  metadata: metadataSchema.nullish(),
  // OpenAI's (and the specification's) floor: fewer than 16 tokens is refused, not silently raised.
  max_output_tokens: z.number().int().min(16).nullish(),
  max_tool_calls: z.number().int().min(1).nullish(),
  ...sharedSamplingFields,
  // The client's function tools; client-tools.ts validates them against the profile's own tools.
  tools: z.array(z.unknown()).nullish(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.looseObject({ format: textFormatSchema.nullish(), verbosity: verbositySchema.nullish() }).nullish(),
  reasoning: z
    .looseObject({
      effort: reasoningEffortSchema.nullish(),
      summary: z.enum(['auto', 'concise', 'detailed']).nullish(),
    })
    .nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  // Accepted and echoed as `default`: Herald has one tier.
  service_tier: z.enum(['auto', 'default', 'flex', 'priority', 'scale']).nullish(),
  safety_identifier: z.string().max(64).nullish(),
  prompt_cache_key: z.string().max(64).nullish(),
  include: z.array(z.string()).nullish(),
  user: z.string().nullish(),
});

export type CreateResponseRequest = z.infer<typeof createResponseSchema>;

/** `limit` 1–100 (default 20), `order` asc|desc (default desc), `after` an item id. */
export const listItemsQuerySchema = z.looseObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).optional(),
});

/** `GET /v1/conversations` (Herald's own: OpenAI has no listing), newest first. */
export const listConversationsQuerySchema = z.looseObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const createConversationSchema = z.looseObject({
  metadata: metadataSchema.nullish(),
  items: z.array(inputItem).max(20).nullish(),
});

export const updateConversationSchema = z.looseObject({ metadata: metadataSchema });

export const addConversationItemsSchema = z.looseObject({ items: z.array(inputItem).min(1).max(20) });

/** Parses a request part or throws the 400 naming the offending `param`. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw fromZodIssues(parsed.error.issues);
  return parsed.data;
}
