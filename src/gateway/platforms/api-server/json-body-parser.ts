/**
 * The API server's JSON body parser: Fastify's own (secure-json-parse, which refuses `__proto__` and
 * `constructor.prototype` keys), then one iterative walk of the parsed value that refuses a body nested
 * deeper than `max_json_depth`, with an array longer than `max_json_array_items` or a string (or key)
 * longer than `max_json_string_chars` — a 400 naming the limit, before any route code runs. Deep values
 * would otherwise overflow the stack of recursive code further on (JSON.stringify when a response is
 * stored or streamed). It does not check request shapes; the routes' zod schemas do.
 */
import type { FastifyInstance } from 'fastify';
import type { HeraldConfig } from '../../../config/schema.ts';
import { ApiError } from './errors.ts';

export interface JsonLimits {
  maxDepth: number;
  maxArrayItems: number;
  maxStringChars: number;
}

export function jsonLimitsOf(config: HeraldConfig['api_server']): JsonLimits {
  return {
    maxDepth: config.max_json_depth,
    maxArrayItems: config.max_json_array_items,
    maxStringChars: config.max_json_string_chars,
  };
}

/** Replaces Fastify's `application/json` parser (bodies of any JSON media type) with the limited one. */
export function installJsonBodyParser(app: FastifyInstance, limits: JsonLimits): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // SDKs send `Content-Type: application/json` with no body on DELETE and …/cancel: an empty body is no
    // body (routes with a required body then answer their own clear 400), not `invalid_json`.
    if ((body as string).trim() === '') return done(null, undefined);
    parse(request, body as string, (error, value) => {
      if (error) return done(error, undefined);
      const exceeded = exceededJsonLimit(value, limits);
      if (exceeded) done(exceeded, undefined);
      else done(null, value);
    });
  });
}

/** The 400 for the first limit `value` breaks, or undefined when it keeps them all. */
export function exceededJsonLimit(value: unknown, limits: JsonLimits): ApiError | undefined {
  // An explicit stack, not recursion: the point is to survive values too deep for the call stack.
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const next = stack.pop()!;
    const current = next.value;
    if (typeof current === 'string') {
      if (current.length > limits.maxStringChars) return tooLong(limits);
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    const depth = next.depth + 1;
    if (depth > limits.maxDepth) {
      return new ApiError(
        400,
        `The JSON body is nested more than ${limits.maxDepth} levels deep (api_server.max_json_depth).`,
        { code: 'json_too_deep' },
      );
    }
    if (Array.isArray(current)) {
      if (current.length > limits.maxArrayItems) {
        return new ApiError(
          400,
          `The JSON body has an array of more than ${limits.maxArrayItems} items (api_server.max_json_array_items).`,
          { code: 'json_array_too_long' },
        );
      }
      for (const item of current) stack.push({ value: item, depth });
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      if (key.length > limits.maxStringChars) return tooLong(limits);
      stack.push({ value: item, depth });
    }
  }
  return undefined;
}

const tooLong = (limits: JsonLimits) =>
  new ApiError(
    400,
    `The JSON body has a string of more than ${limits.maxStringChars} characters (api_server.max_json_string_chars).`,
    { code: 'json_string_too_long' },
  );
