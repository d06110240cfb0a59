/**
 * The API server's one error mapper: every failure leaves as an OpenAI-shaped
 * `{"error":{"message","type","param","code"}}` body with the right status. Route code throws
 * `ApiError`s (or lets typed errors from the agent/model bubble up); nothing else formats errors.
 */
import { ModelError, RunAbortedError } from '../../../model/errors.ts';
import { ReplicaTimeoutError } from '../../../store/index.ts';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error'
  | 'service_unavailable';

export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly code: string | null;
  /** Extra response headers, e.g. `retry-after` on 429. */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    options: {
      type?: ApiErrorType;
      param?: string | null;
      code?: string | null;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = options.type ?? defaultType(status);
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers ?? {};
  }

  toBody(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/**
 * The abort reason of a run the server stopped because it is shutting down (past `shutdown_grace_s`).
 * It is a RunAbortedError, so the agent and its tools unwind as for any cancel, but the client did not
 * cancel: it is answered as a 503 `server_shutting_down`, not a 499 `cancelled`.
 */
export class ServerShutdownError extends RunAbortedError {
  constructor(message = 'The server is shutting down; the run was stopped before it finished.') {
    super(message);
    this.name = 'ServerShutdownError';
  }
}

/** The answer to a request that arrives, or a run that is cut, while the server shuts down. */
export function shuttingDown(message = 'The server is shutting down.'): ApiError {
  return new ApiError(503, message, { type: 'service_unavailable', code: 'server_shutting_down' });
}

function defaultType(status: number): ApiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 409) return 'conflict_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 503) return 'service_unavailable';
  if (status === 502 || status === 504) return 'upstream_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

const modelErrorStatus: Record<ModelError['code'], number> = {
  upstream_not_configured: 503,
  upstream_auth: 502,
  upstream_rate_limited: 429,
  upstream_unavailable: 502,
  upstream_bad_request: 400,
  context_too_long: 400,
  upstream_timeout: 504,
  upstream_stream_cut: 502,
};

/** Turns anything thrown into an ApiError; unknown errors become a 500 without internals. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ModelError) {
    const status = modelErrorStatus[error.code];
    const headers: Record<string, string> = {};
    if (status === 429) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 1)));
    return new ApiError(status, error.message, {
      code: error.code === 'context_too_long' ? 'context_length_exceeded' : error.code,
      headers,
    });
  }
  const fastifyError = asFastifyError(error);
  if (fastifyError) return fastifyError;
  if (error instanceof ServerShutdownError) return shuttingDown(error.message);
  if (error instanceof RunAbortedError) {
    return new ApiError(499, error.message, { type: 'invalid_request_error', code: 'cancelled' });
  }
  if (isStorageFull(error)) return storageFull();
  // Another replica runs the response or run and did not act on a cancel, stop or answer in time.
  if (error instanceof ReplicaTimeoutError) {
    return new ApiError(504, error.message, { type: 'server_error', code: 'replica_timeout' });
  }
  return new ApiError(500, 'The server had an error while processing your request.', {
    type: 'server_error',
    code: 'internal_error',
  });
}

/** The answer while the disk under the store is full: the operator can fix it, so say how. */
export function storageFull(): ApiError {
  return new ApiError(
    507,
    "The server's disk is full, so Herald could not save this request. Free disk space where HERALD_HOME (the database) lives; the server recovers by itself once there is room.",
    { type: 'server_error', code: 'storage_full' },
  );
}

/**
 * True for "disk full" from any store: node:sqlite's SQLITE_FULL (errcode 13, "database or disk is
 * full"), a file write's ENOSPC, PostgreSQL's 53100 — also when wrapped as another error's `cause`.
 */
export function isStorageFull(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code, errcode, message } = current as { code?: unknown; errcode?: unknown; message?: unknown };
    if (code === 'ENOSPC' || code === '53100' || errcode === 13) return true;
    if (typeof message === 'string' && message.includes('database or disk is full')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Fastify's own failures (body parsing, limits, content types) carry a `FST_…` code and a 4xx
 * `statusCode`; they become the OpenAI shape with a message a client developer can act on.
 */
function asFastifyError(error: unknown): ApiError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, statusCode, message } = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_') || typeof statusCode !== 'number')
    return undefined;
  if (statusCode === 413) {
    return new ApiError(413, 'Request body too large.', { code: 'request_too_large' });
  }
  if (statusCode === 415) {
    return new ApiError(415, 'Unsupported Content-Type: request bodies must be application/json.', {
      code: 'unsupported_media_type',
    });
  }
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (statusCode === 400 && /json/i.test(String(message)))) {
    return new ApiError(
      400,
      'We could not parse the JSON body of your request. The body must be valid JSON with Content-Type: application/json.',
      { code: 'invalid_json' },
    );
  }
  if (statusCode >= 400 && statusCode < 500) {
    return new ApiError(statusCode, typeof message === 'string' ? message : 'Bad request.', {
      code: 'invalid_request',
    });
  }
  return undefined;
}

/** The fields of a zod (v4) issue the formatter reads; every issue code carries a subset. */
export interface ZodIssueLike {
  code?: string;
  path: ReadonlyArray<PropertyKey>;
  message: string;
  expected?: string;
  values?: ReadonlyArray<unknown>;
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  format?: string;
  divisor?: number;
  keys?: ReadonlyArray<string>;
  note?: string;
  options?: ReadonlyArray<unknown>;
  errors?: ReadonlyArray<ReadonlyArray<ZodIssueLike>>;
  issues?: ReadonlyArray<ZodIssueLike>;
}

/**
 * A failed zod parse of a request body as a 400 naming the exact `param` (`messages[1].content[0].text`)
 * and what is expected there, never zod's bare "Invalid input": a client developer must be able to fix
 * the request from the message alone.
 */
export function fromZodIssues(issues: ReadonlyArray<ZodIssueLike>): ApiError {
  const issue = issues[0];
  if (!issue) return new ApiError(400, 'Invalid request body.', { code: 'invalid_value' });
  const { path, text } = explainIssue(issue, []);
  const param = formatParam(path);
  return new ApiError(400, `${param || 'Request body'}: ${text}`, {
    param: param || null,
    code: 'invalid_value',
  });
}

/** Zod's own messages (replaced by precise ones); anything else is a message a schema chose. */
const zodDefaultMessage = /^(Invalid|Too (big|small)|Unrecognized key)/;

/** The deepest useful path of an issue and a sentence saying what was expected there. */
function explainIssue(
  issue: ZodIssueLike,
  prefix: ReadonlyArray<PropertyKey>,
): { path: PropertyKey[]; text: string } {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors && issue.note === undefined) {
    // The alternative that got furthest into the value is the one the client meant: explain its problem.
    const deepest = issue.errors
      .flat()
      .reduce<ZodIssueLike | undefined>(
        (best, i) => (best === undefined || reach(i) > reach(best) ? i : best),
        undefined,
      );
    if (deepest && reach(deepest) > 0) return explainIssue(deepest, path);
    const expected = issue.errors.flat().flatMap(expectedAtRoot);
    return { path, text: `expected ${joinOr([...new Set(expected)])}${got(issue.errors.flat())}.` };
  }
  if (issue.code === 'invalid_key' && issue.issues?.[0]) {
    const inner = explainIssue(issue.issues[0], []);
    return { path, text: `invalid key: ${inner.text}` };
  }
  if (issue.code !== 'custom' && zodDefaultMessage.test(issue.message)) {
    return { path, text: `${describe(issue)}.` };
  }
  return { path, text: issue.message };
}

function describe(issue: ZodIssueLike): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${typeName(issue.expected)}${got([issue])}`;
    case 'invalid_value':
      return `expected ${joinOr((issue.values ?? []).map((v) => JSON.stringify(v)))}`;
    case 'invalid_union':
      // A discriminated union whose `type` matched no option.
      return `expected ${joinOr((issue.options ?? []).map((v) => JSON.stringify(v)))}`;
    case 'too_big':
    case 'too_small':
      return bound(issue);
    case 'invalid_format':
      return `expected a valid ${issue.format ?? 'value'}`;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return `unknown parameter${(issue.keys?.length ?? 0) > 1 ? 's' : ''} ${(issue.keys ?? []).map((k) => `'${k}'`).join(', ')}`;
    default:
      return 'the value is not valid here';
  }
}

function bound(issue: ZodIssueLike): string {
  const big = issue.code === 'too_big';
  const limit = Number(big ? issue.maximum : issue.minimum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'string':
      return big ? `expected at most ${limit} characters` : `expected at least ${limit} characters`;
    case 'array':
    case 'set':
      return big
        ? `expected at most ${limit} items`
        : `expected at least ${limit} item${limit === 1 ? '' : 's'}`;
    default: {
      const op = big ? (inclusive ? '<=' : '<') : inclusive ? '>=' : '>';
      return `expected a number ${op} ${limit}`;
    }
  }
}

/** How deep into the value an issue (or the best alternative of a nested union) got. */
function reach(issue: ZodIssueLike): number {
  const nested =
    issue.code === 'invalid_union' && issue.note === undefined ? issue.errors?.flat() : undefined;
  return issue.path.length + Math.max(0, ...(nested ?? []).map(reach));
}

/** What union alternatives that failed at the value itself wanted (`a string`, `null`, `"function"`). */
function expectedAtRoot(issue: ZodIssueLike): string[] {
  if (issue.path.length > 0) return [];
  if (issue.code === 'invalid_type') return [typeName(issue.expected)];
  if (issue.code === 'invalid_value') return (issue.values ?? []).map((v) => JSON.stringify(v));
  if (issue.code === 'invalid_union') return (issue.errors ?? []).flat().flatMap(expectedAtRoot);
  return [];
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
  record: 'an object',
  null: 'null',
  bigint: 'an integer',
};

function typeName(expected: string | undefined): string {
  return typeNames[expected ?? ''] ?? (expected ? `a ${expected}` : 'a different value');
}

/** `, but got a number` from zod's default message ("… received number"); missing values say so. */
function got(issues: ReadonlyArray<ZodIssueLike>): string {
  for (const issue of issues) {
    const received = /received (\w+)/.exec(issue.message)?.[1];
    if (!received) continue;
    if (received === 'undefined') return ', but it is missing';
    return `, but got ${typeNames[received] ?? received}`;
  }
  return '';
}

function joinOr(words: string[]): string {
  if (words.length <= 1) return words[0] ?? 'a different value';
  return `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** `['messages', 1, 'content', 0]` → `messages[1].content[0]`. */
export function formatParam(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
