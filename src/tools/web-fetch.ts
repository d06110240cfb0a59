/**
 * The `web_fetch` tool: an HTTP(S) GET whose response comes back as readable text (HTML through
 * `html-to-text`, other text types as they are), within a time limit, a byte limit on what is read
 * (the body is streamed and the read stopped) and a character limit on what the model sees.
 * Unless `tools.web_fetch.allow_private` is set, the host of the URL and of every redirect hop must
 * resolve only to public addresses (see `address-guard.ts`); redirects are followed by hand for that.
 * The request goes through `node:http(s)` rather than `fetch` so the check can sit in the socket's own
 * `lookup`: the name is resolved once per connection and only checked addresses reach `connect`, which
 * closes DNS rebinding. Connections are never pooled (a reused socket would skip the check); TLS still
 * verifies the certificate against the host name. No compression is asked for, so none is decoded.
 */
import { type ClientRequestArgs, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { convert } from 'html-to-text';
import { z } from 'zod';
import { guardedLookup, type HostLookup, resolveChecked, systemLookup, unbracket } from './address-guard.ts';
import { ToolError } from './errors.ts';
import { looksBinary } from './looks-binary.ts';
import type { Tool } from './types.ts';

const webFetchArgs = z.object({
  url: z.url({ protocol: /^https?$/ }).describe('The http:// or https:// URL to fetch.'),
  max_chars: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Most characters of text to return; capped by (and defaulting to) the configured maximum.'),
});

export type WebFetchArgs = z.infer<typeof webFetchArgs>;

export interface WebFetchOptions {
  /** Host name resolution for the address guard; default the system resolver. */
  lookup?: HostLookup;
  /**
   * Opens the connection instead of Node's agent; default none. Tests only: it receives the guarded
   * `lookup` in its options, so it can run the check and then connect to a loopback server.
   */
  createConnection?: ClientRequestArgs['createConnection'];
}

const maxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const textTypes =
  /^(text\/|application\/(json|xml|javascript|ecmascript|x-www-form-urlencoded)$|application\/[\w.+-]+\+(json|xml)$)/;
const htmlTypes = new Set(['text/html', 'application/xhtml+xml']);

/** Reads at most `maxBytes` of the body, then destroys the response so the rest is never transferred. */
async function readCapped(body: IncomingMessage, maxBytes: number): Promise<{ bytes: Buffer; cut: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    if (size + buffer.byteLength > maxBytes) {
      chunks.push(buffer.subarray(0, maxBytes - size));
      body.destroy();
      return { bytes: Buffer.concat(chunks), cut: true };
    }
    chunks.push(buffer);
    size += buffer.byteLength;
  }
  return { bytes: Buffer.concat(chunks), cut: false };
}

function decode(bytes: Buffer, contentType: string): string {
  const charset = /charset="?([^";]+)/i.exec(contentType)?.[1]?.trim();
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes); // an unknown charset label
  }
}

const mimeOf = (contentType: string): string => contentType.split(';')[0]?.trim().toLowerCase() ?? '';

function notText(url: URL, mime: string, bytes: number): ToolError {
  return new ToolError(
    'unsupported_content',
    `${url.href} returned ${mime || 'an unknown content type'} (${bytes} bytes read), which is not text.`,
  );
}

/** Relative links are useless to a model that can only fetch absolute URLs. */
function absoluteLink(href: string, base: URL): string {
  try {
    return new URL(href, base).href;
  } catch {
    return href;
  }
}

function toText(bytes: Buffer, contentType: string, url: URL): string {
  const mime = mimeOf(contentType);
  // Without a content type, sniff: servers often omit it for plain text files.
  if (mime === '' && looksBinary(bytes)) throw notText(url, mime, bytes.byteLength);
  const text = decode(bytes, contentType);
  if (!htmlTypes.has(mime)) return text;
  return convert(text, {
    wordwrap: false,
    selectors: [
      { selector: 'img', format: 'skip' },
      {
        selector: 'a',
        options: { hideLinkHrefIfSameAsText: true, pathRewrite: (href: string) => absoluteLink(href, url) },
      },
    ],
  });
}

interface FetchPlan {
  signal: AbortSignal;
  allowPrivate: boolean;
  lookup: HostLookup;
  createConnection: ClientRequestArgs['createConnection'];
}

/** One GET; the socket resolves the host through the guarded lookup, so the check is at connect time. */
function get(url: URL, plan: FetchPlan): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'GET',
        signal: plan.signal,
        lookup: guardedLookup(plan.lookup, plan.allowPrivate),
        // A fresh agent per request: a pooled socket would skip the lookup, and so the check.
        ...(plan.createConnection ? { createConnection: plan.createConnection } : { agent: false }),
        headers: {
          'user-agent': 'Herald/0.1 (web_fetch tool)',
          accept: 'text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5',
        },
      },
      resolve,
    );
    request.on('error', reject);
    request.end();
  });
}

/** GETs `start`, following up to `maxRedirects` redirects by hand so every hop passes the guard. */
async function fetchGuarded(start: URL, plan: FetchPlan): Promise<{ response: IncomingMessage; url: URL }> {
  let url = start;
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ToolError('unsupported_url', `Refused: ${url.href} is not an http(s) URL.`);
    }
    // Sockets do not call `lookup` for IP literals, so those are checked here (no DNS involved).
    if (!plan.allowPrivate && isIP(unbracket(url.hostname)) !== 0)
      await resolveChecked(url.hostname, plan.lookup);
    const response = await get(url, plan);
    const location = response.headers.location;
    if (!redirectStatuses.has(response.statusCode ?? 0) || location === undefined) return { response, url };
    response.destroy();
    if (hop === maxRedirects) {
      throw new ToolError('too_many_redirects', `Stopped after ${maxRedirects} redirects at ${url.href}.`);
    }
    url = new URL(location, url);
  }
}

/** Turns a request failure into a message for the model; cancellation and our own errors pass through. */
function describeFailure(error: unknown, url: string, timeoutS: number, timedOut: boolean): unknown {
  if (error instanceof ToolError || !(error instanceof Error)) return error;
  if (timedOut) return new ToolError('timeout', `Timed out after ${timeoutS} s fetching ${url}.`);
  const detail = error.cause instanceof Error ? error.cause.message : error.message;
  return new ToolError('fetch_failed', `Could not fetch ${url}: fetch failed (${detail})`, { cause: error });
}

export function createWebFetchTool(options: WebFetchOptions = {}): Tool<WebFetchArgs> {
  const lookup = options.lookup ?? systemLookup;

  return {
    name: 'web_fetch',
    description:
      'Fetch a web page or other text resource over HTTP(S) and return it as readable text ' +
      '(HTML is converted to text, links shown in brackets). Binary content is refused.',
    schema: webFetchArgs,
    label: (args) => `web_fetch: ${args.url}`,
    async execute(args, ctx) {
      const limits = ctx.config.web_fetch;
      const maxChars = Math.min(args.max_chars ?? limits.max_chars, limits.max_chars);
      const timeout = AbortSignal.timeout(limits.timeout_s * 1000);
      const plan: FetchPlan = {
        signal: AbortSignal.any([ctx.signal, timeout]),
        allowPrivate: limits.allow_private,
        lookup,
        createConnection: options.createConnection,
      };

      try {
        const { response, url } = await fetchGuarded(new URL(args.url), plan);
        const contentType = response.headers['content-type'] ?? '';
        const mime = mimeOf(contentType);
        if (mime !== '' && !textTypes.test(mime)) {
          response.destroy();
          throw notText(url, mime, 0);
        }
        const { bytes, cut } = await readCapped(response, limits.max_bytes);
        const text = toText(bytes, contentType, url);

        const header = `URL: ${url.href}\nStatus: ${response.statusCode} ${response.statusMessage ?? ''}\nContent-Type: ${contentType || '(none)'}\n\n`;
        const notes: string[] = [];
        if (cut) notes.push(`[download stopped at the ${limits.max_bytes}-byte limit; the page continues]`);
        if (text.length > maxChars) {
          notes.push(`[truncated: ${text.length - maxChars} more chars not shown (max_chars ${maxChars})]`);
        }
        const shown = text.length > maxChars ? text.slice(0, maxChars) : text;
        return `${header}${shown}${notes.length > 0 ? `\n\n${notes.join('\n')}` : ''}`;
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        throw describeFailure(error, args.url, limits.timeout_s, timeout.aborted);
      }
    },
  };
}
