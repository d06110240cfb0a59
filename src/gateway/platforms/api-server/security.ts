/**
 * The API server's access rules. With `api_server.keys`, every request but the public paths (health,
 * readiness, the status page) and CORS preflights needs `Authorization: Bearer <key>`, compared in
 * constant time. Without keys the server is for this machine only: the peer must be loopback, the `Host` header must name a loopback host (a DNS
 * rebinding page carries its own domain there) and a browser `Origin` must be loopback too (a drive-by
 * page on another site cannot reach an agent that runs shell commands). It does not do CORS headers;
 * @fastify/cors does.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { HeraldConfig } from '../../../config/schema.ts';
import { type ApiCaller, apiKeyEntries, setCaller } from './api-caller.ts';
import { authFailureLimiterFor, tooManyAuthFailures } from './auth-failure-limiter.ts';
import { ApiError } from './errors.ts';
import { WEB_CHAT_PATHS } from './web-chat-routes.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1' || plain === '0:0:0:0:0:0:0:1';
}

/** True for a Host header (or URL host) naming this machine: localhost, 127.x, [::1], any port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const lower = host.trim().toLowerCase();
  let name: string;
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    if (end < 0) return false;
    name = lower.slice(1, end);
    const rest = lower.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return false;
  } else {
    const match = /^([^:]+)(?::\d{1,5})?$/.exec(lower);
    if (!match) return false;
    name = match[1]!;
  }
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  return isLoopbackAddress(name);
}

/** True for an `Origin` header value that is a loopback web origin (http(s)://localhost:3000 etc.). */
export function isLoopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(url.host);
  } catch {
    return false;
  }
}

/** A bind address that only this machine can reach. */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}

/** Thrown by `start()` when the config would expose an unauthenticated agent to the network. */
export class UnsafeBindError extends Error {
  readonly code = 'unsafe_bind';
  constructor(host: string) {
    super(
      `Refusing to listen on ${host} without an API key: anyone who can reach this address could run the agent ` +
        '(and its shell tools). Set API_SERVER_KEY (or api_server.keys), bind API_SERVER_HOST=127.0.0.1, or set ' +
        'api_server.allow_unauthenticated: true if the network is trusted.',
    );
    this.name = 'UnsafeBindError';
  }
}

const PUBLIC_PATHS = new Set(['/health', '/v1/health', '/health/ready', '/v1/health/ready', '/status']);

/**
 * Paths anyone may call without a key: liveness and readiness, the status page and the web chat's
 * files (they hold no data; their scripts call the API with the key), and `/metrics` when
 * `metrics.require_key` is off.
 */
export function isPublicPath(url: string | undefined, config: HeraldConfig['api_server']): boolean {
  const path = (url ?? '').split('?')[0] ?? '';
  return (
    PUBLIC_PATHS.has(path) || WEB_CHAT_PATHS.has(path) || (path === '/metrics' && !config.metrics.require_key)
  );
}

/** What the access rules look at: a plain Node request, so an HTTP upgrade is checked like any route. */
type AccessRequest = Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'socket'>;

/**
 * The access rules as one check: throws the 401/403 ApiError a request is refused with, else returns
 * the caller its key authenticates (undefined without keys, or on a public path). Used by the onRequest
 * hook and by the WebSocket upgrade handler, which runs outside Fastify's hooks.
 */
export type AccessCheck = (request: AccessRequest) => ApiCaller | undefined;

export function createAccessCheck(config: HeraldConfig['api_server']): AccessCheck {
  const keys = apiKeyEntries(config.keys).map((entry) => ({ ...entry, digest: digest(entry.key) }));
  const throttle = authFailureLimiterFor(config);
  const throttled = (address: string | undefined): address is string =>
    throttle !== undefined &&
    address !== undefined &&
    !(config.auth_failures.exempt_loopback && isLoopbackAddress(address));
  return (request) => {
    if (keys.length > 0) {
      if (request.method === 'OPTIONS' || isPublicPath(request.url, config)) return;
      const address = request.socket.remoteAddress;
      if (throttled(address)) {
        const wait = throttle!.retryAfterSeconds(address);
        if (wait > 0) throw tooManyAuthFailures(wait);
      }
      const header = request.headers.authorization ?? '';
      const match = /^Bearer\s+(.+)$/i.exec(header);
      const given = digest(match?.[1]?.trim() ?? '');
      // Compare against every key so the time taken does not reveal which (or whether one) matched.
      let matched: (typeof keys)[number] | undefined;
      for (const key of keys) if (timingSafeEqual(given, key.digest)) matched ??= key;
      if (!matched || !match) {
        if (throttled(address)) throttle!.recordFailure(address);
        throw new ApiError(
          401,
          match
            ? 'Incorrect API key provided.'
            : 'Missing API key: send it as `Authorization: Bearer <key>`.',
          { type: 'invalid_request_error', code: 'invalid_api_key' },
        );
      }
      return matched.caller;
    }
    // allow_unauthenticated exists to expose a keyless server on a trusted network; on a loopback bind
    // it changes nothing, so the DNS-rebinding and drive-by guards below stay on there.
    if (config.allow_unauthenticated && !isLoopbackBind(config.host)) return;
    if (!isLoopbackAddress(request.socket.remoteAddress)) {
      throw new ApiError(403, 'This server has no API key and only answers requests from this machine.', {
        type: 'invalid_request_error',
        code: 'forbidden',
      });
    }
    if (!isLoopbackHost(request.headers.host)) {
      throw new ApiError(
        403,
        'Host header must name a loopback host (localhost, 127.0.0.1, [::1]) when no API key is set.',
        { type: 'invalid_request_error', code: 'forbidden' },
      );
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !isLoopbackOrigin(origin)) {
      throw new ApiError(
        403,
        'Cross-site browser requests are refused when no API key is set. Set API_SERVER_KEY to allow them.',
        { type: 'invalid_request_error', code: 'forbidden' },
      );
    }
  };
}

/** Installs the auth / loopback guard as an onRequest hook (after CORS, so preflights are answered). */
export function installSecurity(app: FastifyInstance, check: AccessCheck): void {
  app.addHook('onRequest', async (request) => {
    const caller = check(request.raw);
    if (caller) setCaller(request, caller);
  });
  // An unauthenticated answer closes its connection: a client cannot keep the socket by dribbling a
  // body after its 401 (or after the 429 of the wrong-key throttle).
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 401) reply.header('connection', 'close');
    return payload;
  });
}
