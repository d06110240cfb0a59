/**
 * The `web_fetch` tool: an HTTP(S) GET whose response comes back as readable text (HTML through
 * `html-to-text`, other text types as they are), within a time limit, a byte limit on what is read
 * (the body is streamed and the read stopped) and a character limit on what the model sees.
 * Unless `tools.web_fetch.allow_private` is set, the host of the URL and of every redirect hop must
 * resolve only to public addresses (see `address-guard.ts`); redirects are followed by hand for that.
 * Known gap: `fetch` resolves the name again when it connects, so a DNS server answering differently
 * the second time (rebinding) is not caught; pinning needs a custom connector Node's fetch lacks.
 */
import { convert } from 'html-to-text';
import { z } from 'zod';
import { assertPublicHost, type HostLookup, systemLookup } from './address-guard.ts';
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
  /** The fetch implementation; default global `fetch`. Tests route it to a loopback server. */
  fetch?: typeof fetch;
}

const maxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const textTypes =
  /^(text\/|application\/(json|xml|javascript|ecmascript|x-www-form-urlencoded)$|application\/[\w.+-]+\+(json|xml)$)/;
const htmlTypes = new Set(['text/html', 'application/xhtml+xml']);

async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<{ bytes: Buffer; cut: boolean }> {
  if (body === null) return { bytes: Buffer.alloc(0), cut: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks), cut: false };
      if (size + value.byteLength > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - size));
        // Stop the download: the rest of a huge body is never transferred.
        await reader.cancel();
        return { bytes: Buffer.concat(chunks), cut: true };
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
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
  fetch: typeof fetch;
}

/** GETs `start`, following up to `maxRedirects` redirects by hand so every hop passes the guard. */
async function fetchGuarded(start: URL, plan: FetchPlan): Promise<{ response: Response; url: URL }> {
  let url = start;
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ToolError('unsupported_url', `Refused: ${url.href} is not an http(s) URL.`);
    }
    if (!plan.allowPrivate) await assertPublicHost(url.hostname, plan.lookup);
    const response = await plan.fetch(url, {
      redirect: 'manual',
      signal: plan.signal,
      headers: {
        'user-agent': 'Herald/0.1 (web_fetch tool)',
        accept: 'text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5',
      },
    });
    const location = response.headers.get('location');
    if (!redirectStatuses.has(response.status) || location === null) return { response, url };
    await response.body?.cancel();
    if (hop === maxRedirects) {
      throw new ToolError('too_many_redirects', `Stopped after ${maxRedirects} redirects at ${url.href}.`);
    }
    url = new URL(location, url);
  }
}

/** Turns a fetch failure into a message for the model; cancellation and our own errors pass through. */
function describeFailure(error: unknown, url: string, timeoutS: number, timedOut: boolean): unknown {
  if (error instanceof ToolError || !(error instanceof Error)) return error;
  if (timedOut) return new ToolError('timeout', `Timed out after ${timeoutS} s fetching ${url}.`);
  // undici hides the useful part (ECONNREFUSED, certificate errors) in `cause`.
  const reason = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return new ToolError('fetch_failed', `Could not fetch ${url}: ${error.message}${reason}`, { cause: error });
}

export function createWebFetchTool(options: WebFetchOptions = {}): Tool<WebFetchArgs> {
  const lookup = options.lookup ?? systemLookup;
  const fetchImpl = options.fetch ?? fetch;

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
        fetch: fetchImpl,
      };

      try {
        const { response, url } = await fetchGuarded(new URL(args.url), plan);
        const contentType = response.headers.get('content-type') ?? '';
        const mime = mimeOf(contentType);
        if (mime !== '' && !textTypes.test(mime)) {
          await response.body?.cancel();
          throw notText(url, mime, 0);
        }
        const { bytes, cut } = await readCapped(response.body, limits.max_bytes);
        const text = toText(bytes, contentType, url);

        const header = `URL: ${url.href}\nStatus: ${response.status} ${response.statusText}\nContent-Type: ${contentType || '(none)'}\n\n`;
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
