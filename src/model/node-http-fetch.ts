/**
 * A `fetch` for the OpenAI SDK built on `node:http`/`node:https` with keep-alive agents. The SDK still
 * builds the request (auth, headers, env options) and raises its errors; only the transport changes:
 * undici's fetch and the WHATWG streams under it were the largest part of Herald's CPU per streamed
 * request. A successful response carries no web body: its Node stream is handed over through
 * `nodeBodyOf` and read by sse-stream.ts directly. Anything this does not cover (a non-string body,
 * another protocol, proxy environment variables, which only fetch honours) goes to the global fetch.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

const nodeBodies = new WeakMap<Response, IncomingMessage>();

/** The Node stream of a response made by `createNodeHttpFetch`, if it was. */
export function nodeBodyOf(response: Response): IncomingMessage | undefined {
  return nodeBodies.get(response);
}

/** Statuses whose Response may not have a body. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy'];

/** Whether the environment asks for a proxy; then requests keep going through fetch. */
function proxyConfigured(): boolean {
  return PROXY_VARIABLES.some((name) => Boolean(process.env[name]));
}

export function createNodeHttpFetch(): typeof fetch {
  // Node's Agent unrefs a socket while it waits in the keep-alive pool (Agent#keepSocketAlive), so idle
  // upstream connections never keep a finished `herald chat -q` or a stopped `herald serve` alive.
  const agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };
  const useFetch = proxyConfigured();
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = init?.body;
    const protocol = url.protocol;
    if (
      useFetch ||
      input instanceof Request ||
      (protocol !== 'http:' && protocol !== 'https:') ||
      (body !== undefined && body !== null && typeof body !== 'string')
    ) {
      return globalThis.fetch(input, init);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of new Headers(init?.headers)) headers[name] = value;
    const signal = init?.signal ?? undefined;
    const transport = protocol === 'https:' ? https : http;
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const req = transport.request(
        url,
        { method: init?.method ?? 'GET', headers, agent: agents[protocol], signal },
        (res) => {
          try {
            resolve(toResponse(res));
          } catch (error) {
            // e.g. a status the Response constructor refuses
            res.destroy();
            reject(error);
          }
        },
      );
      req.on('error', (error) => reject(signal?.aborted ? signal.reason : error));
      req.end(body ?? undefined);
    });
  };
}

/** A Response for the SDK: a success keeps its Node stream aside, anything else is buffered as text. */
function toResponse(res: IncomingMessage): Response | Promise<Response> {
  const responseHeaders = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) responseHeaders.append(raw[i]!, raw[i + 1]!);
  const status = res.statusCode ?? 0;
  const meta = { status, statusText: res.statusMessage ?? '', headers: responseHeaders };
  if (status >= 200 && status < 300 && !NULL_BODY_STATUSES.has(status)) {
    if (!/^text\/event-stream/i.test(res.headers['content-type'] ?? '')) {
      // Not a stream we read ourselves: a regular web body, so any SDK parsing still works.
      return new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, meta);
    }
    const response = new Response(null, meta);
    nodeBodies.set(response, res);
    return response;
  }
  // Errors and bodiless statuses: buffered, so the SDK can read them as usual.
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    res.on('data', (part: Buffer) => parts.push(part));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      try {
        resolve(new Response(NULL_BODY_STATUSES.has(status) ? null : text, meta));
      } catch (error) {
        reject(error);
      }
    });
  });
}
