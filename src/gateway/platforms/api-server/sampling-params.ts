/**
 * The sampling parameters both request formats share (Chat Completions and Responses), as zod pieces
 * with OpenAI's ranges, and their conversion into the model's `SamplingSettings`. Each field is accepted
 * as absent or `null` (the SDKs send nulls) and forwarded only when given. Each route's request schema
 * spreads these in; this module decides no route behaviour and does not know how a Response echoes them.
 */
import { z } from 'zod';
import type { ResponseFormat, SamplingSettings } from '../../../model/index.ts';

const positiveInt = z.number().int().min(1);

/** A schema name as OpenAI accepts it: a-z, A-Z, 0-9, `_` and `-`, at most 64 characters. */
const formatName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected 1-64 characters of a-z, A-Z, 0-9, _ or -' });

const jsonSchemaFields = {
  name: formatName,
  description: z.string().nullish(),
  schema: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
};

/** Responses `text.format` (flat json_schema fields). */
export const textFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({ type: z.literal('json_schema'), ...jsonSchemaFields }),
]);
export type TextFormatInput = z.infer<typeof textFormatSchema>;

/** Chat Completions `response_format` (json_schema fields nested under `json_schema`). */
const chatResponseFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({ type: z.literal('json_schema'), json_schema: z.looseObject(jsonSchemaFields) }),
]);

export const reasoningEffortSchema = z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']);
export const verbositySchema = z.enum(['low', 'medium', 'high']);

/** Fields with the same name and range in both APIs. */
export const sharedSamplingFields = {
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
};

/** Chat Completions-only sampling fields. */
export const chatSamplingFields = {
  ...sharedSamplingFields,
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  seed: z.number().int().nullish(),
  logit_bias: z
    .record(z.string().regex(/^\d+$/, { error: 'expected a token id' }), z.number().min(-100).max(100))
    .nullish(),
  logprobs: z.boolean().nullish(),
  response_format: chatResponseFormatSchema.nullish(),
  reasoning_effort: reasoningEffortSchema.nullish(),
  verbosity: verbositySchema.nullish(),
};

type SharedSampling = { [K in keyof typeof sharedSamplingFields]?: number | null };

/** The settings both APIs carry under the same names. */
function sharedSettings(body: SharedSampling): SamplingSettings {
  return {
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
  };
}

type ChatSampling = z.infer<z.ZodObject<typeof chatSamplingFields>>;

export function chatSamplingSettings(body: ChatSampling): SamplingSettings {
  const format = body.response_format;
  return withoutUndefined({
    ...sharedSettings(body),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    stop: body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop,
    seed: body.seed ?? undefined,
    logitBias: body.logit_bias ?? undefined,
    reasoningEffort: body.reasoning_effort ?? undefined,
    verbosity: body.verbosity ?? undefined,
    responseFormat:
      format == null
        ? undefined
        : format.type === 'json_schema'
          ? toResponseFormat({ type: 'json_schema', ...format.json_schema })
          : toResponseFormat(format),
  });
}

/** Responses fields: `max_output_tokens`, `text.format`/`verbosity`, `reasoning.effort`. */
export function responsesSamplingSettings(
  body: SharedSampling & {
    max_output_tokens?: number | null;
    text?: { format?: TextFormatInput | null; verbosity?: z.infer<typeof verbositySchema> | null } | null;
    reasoning?: { effort?: z.infer<typeof reasoningEffortSchema> | null } | null;
  },
): SamplingSettings {
  return withoutUndefined({
    ...sharedSettings(body),
    maxTokens: body.max_output_tokens ?? undefined,
    responseFormat: body.text?.format ? toResponseFormat(body.text.format) : undefined,
    verbosity: body.text?.verbosity ?? undefined,
    reasoningEffort: body.reasoning?.effort ?? undefined,
  });
}

function toResponseFormat(format: TextFormatInput): ResponseFormat {
  if (format.type !== 'json_schema') return { type: format.type };
  return withoutUndefined({
    type: 'json_schema' as const,
    name: format.name,
    schema: format.schema ?? undefined,
    description: format.description ?? undefined,
    strict: format.strict ?? undefined,
  });
}

/** Drops absent settings so that only what the client sent is forwarded. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
