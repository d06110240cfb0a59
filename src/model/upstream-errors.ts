/**
 * Turns whatever the `openai` SDK or the network threw into a `ModelError` whose message tells the user
 * what to fix, and decides which failures are worth retrying (rate limits, 5xx, connection trouble) and
 * how long the upstream asked us to wait. Messages name the base URL but never contain the API key.
 * Abort handling and the retry loop itself live in the model client; this module only classifies.
 */
// The error classes only: importing the whole SDK here would cost every importer of ModelError ~250 ms.
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai/error';
import { ModelError } from './errors.ts';

export interface UpstreamContext {
  /** Base URL safe to show (no credentials, no query). */
  baseUrl: string;
  apiKey: string | undefined;
}

/** Longest wait we honour from Retry-After; a longer ask is cut to this, so a run never stalls for minutes. */
const MAX_RETRY_AFTER_MS = 60_000;

const CONTEXT_LENGTH_PATTERN =
  /context_length_exceeded|maximum context length|context length|context window|too many tokens|prompt is too long/i;

/** Strips credentials and query from a URL before it appears in messages or logs. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(invalid base URL)';
  }
}

/** Whether a failure that happened before anything was streamed may be retried. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ModelError) return err.code === 'upstream_stream_cut';
  if (err instanceof APIConnectionTimeoutError) return false;
  if (err instanceof APIConnectionError) return true;
  if (err instanceof APIError) {
    // No status = an error event inside a 200 stream (e.g. a proxy's provider failed): transient.
    return err.status === undefined || err.status === 429 || err.status >= 500;
  }
  return isNetworkError(err);
}

/** The wait the upstream asked for (Retry-After / retry-after-ms), capped at 60 s. */
export function retryAfterMs(err: unknown): number | undefined {
  if (!(err instanceof APIError) || !err.headers) return undefined;
  const ms = Number.parseFloat(err.headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const header = err.headers.get('retry-after');
  if (!header) return undefined;
  const seconds = Number.parseFloat(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - Date.now()), MAX_RETRY_AFTER_MS);
}

export function toModelError(err: unknown, ctx: UpstreamContext): ModelError {
  if (err instanceof ModelError) return err;
  const redact = (text: string): string => {
    // Credentials may sit in the key or in a URL's user-info (fetch quotes the URL in some errors).
    const withoutUserInfo = text.replace(/\/\/[^/@\s]+@/g, '//');
    return ctx.apiKey && ctx.apiKey.length >= 4
      ? withoutUserInfo.replaceAll(ctx.apiKey, '[redacted]')
      : withoutUserInfo;
  };
  const at = `at ${ctx.baseUrl}`;

  if (err instanceof APIConnectionTimeoutError) {
    return new ModelError('upstream_timeout', `The upstream model ${at} did not answer in time.`, {
      cause: err,
    });
  }
  if (err instanceof APIConnectionError) {
    const reason = systemErrorCode(err) ?? redact(innermostMessage(err));
    return new ModelError(
      'upstream_unavailable',
      `Cannot reach the upstream model ${at} (${reason}). Check HERALD_BASE_URL and that the server is running.`,
      { cause: err },
    );
  }
  if (err instanceof APIError) {
    const status = err.status;
    const detail = redact(upstreamMessage(err));
    if (status === 401 || status === 403) {
      return new ModelError(
        'upstream_auth',
        `The upstream model ${at} rejected the credentials (${status}: ${detail}). Check HERALD_API_KEY (model.api_key in config.yaml).`,
        { status, cause: err },
      );
    }
    if (status === 429) {
      const wait = retryAfterMs(err);
      return new ModelError(
        'upstream_rate_limited',
        `The upstream model ${at} is rate limiting us: ${detail}`,
        {
          status,
          retryAfterSeconds: wait === undefined ? undefined : Math.ceil(wait / 1000),
          cause: err,
        },
      );
    }
    if (status === undefined || status >= 500) {
      const label = status === undefined ? 'reported an error mid-stream' : `failed (${status})`;
      return new ModelError('upstream_unavailable', `The upstream model ${at} ${label}: ${detail}`, {
        status,
        cause: err,
      });
    }
    if (CONTEXT_LENGTH_PATTERN.test(detail) || err.code === 'context_length_exceeded') {
      return new ModelError(
        'context_too_long',
        `The conversation is too long for the model's context window: ${detail}. Start a new conversation or shorten the input.`,
        { status, cause: err },
      );
    }
    return new ModelError(
      'upstream_bad_request',
      `The upstream model ${at} rejected the request (${status}): ${detail}`,
      {
        status,
        cause: err,
      },
    );
  }
  if (isNetworkError(err)) {
    return new ModelError(
      'upstream_stream_cut',
      `The connection to the upstream model ${at} broke mid-stream.`,
      {
        cause: err,
      },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ModelError(
    'upstream_unavailable',
    `The upstream model ${at} sent an unusable response: ${redact(message)}`,
    {
      cause: err,
    },
  );
}

function upstreamMessage(err: APIError): string {
  const body: unknown = err.error;
  if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string')
    return body.message;
  if (typeof body === 'string' && body.length > 0) return body;
  // The SDK prefixes its message with the status; drop it, we say the status ourselves.
  return err.message.replace(/^\d{3}\s+/, '') || 'no details';
}

/** A failure of the socket while the body was streaming (undici reports `TypeError: terminated`). */
function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TypeError' && /terminated|fetch failed|network/i.test(err.message)) return true;
  return systemErrorCode(err) !== undefined;
}

function innermostMessage(err: unknown): string {
  let current: unknown = err;
  let message = 'connection error';
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.message) message = current.message;
    current = current.cause;
  }
  return message;
}

function systemErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
