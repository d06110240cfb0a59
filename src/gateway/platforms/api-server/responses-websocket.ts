/**
 * The Responses API's WebSocket mode (Open Responses 2026-04-24, OpenAI's "WebSocket mode"): a client
 * opens one socket on `/v1/responses` (or `/responses`) and sends `response.create` messages; each runs
 * exactly like a streamed `POST /v1/responses` (same validation, store, chains, queue and events) and its
 * events come back as JSON text frames. Creates on one socket run one after the other (FIFO); the
 * socket's last `store: false` response can be continued with `previous_response_id`; a failed create is
 * answered with an `error` event and the socket stays usable. The upgrade passes the same access rules
 * as any request. It does not multiplex (`stream_id` lanes are echoed but run in turn) and does not
 * run responses in the background: closing the socket cancels its response.
 */
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { Logger } from '../../../logger.ts';
import { RunAbortedError } from '../../../model/index.ts';
import type { ResponseStore } from '../../../store/index.ts';
import { type ApiCaller, LOCAL_CALLER } from './api-caller.ts';
import { ApiError, shuttingDown, toApiError } from './errors.ts';
import type { ResponseTurns } from './responses-routes.ts';
import { API_PREFIXES } from './route-deps.ts';
import type { AccessCheck } from './security.ts';
import { SocketResponseCache } from './socket-response-cache.ts';

export interface ResponsesWebSocketOptions {
  /** The HTTP server whose `upgrade` requests this handles. */
  server: Server;
  turns: ResponseTurns;
  store: ResponseStore;
  config: HeraldConfig['api_server'];
  /** The HTTP routes' access check (keys, loopback guard, wrong-key throttle), applied to each upgrade. */
  access: AccessCheck;
  logger: Logger;
}

/** RFC 6455 "going away": the close code sockets get when the server shuts down. */
const CLOSE_GOING_AWAY = 1001;
const CLOSE_NORMAL = 1000;

const PATHS = new Set(API_PREFIXES.map((prefix) => `${prefix}/responses`));
/** HTTP transport fields a WebSocket `response.create` must not carry (Open Responses spec). */
const HTTP_ONLY_FIELDS = ['stream', 'stream_options', 'background'] as const;

export class ResponsesWebSocket {
  readonly #options: ResponsesWebSocketOptions;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Set<ResponsesSocket>();
  readonly #keepalive: NodeJS.Timeout;
  #closing = false;

  constructor(options: ResponsesWebSocketOptions) {
    this.#options = options;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.config.max_body_bytes,
      perMessageDeflate: false,
    });
    options.server.on('upgrade', this.#onUpgrade);
    // A peer that stopped answering pings (a dead NAT mapping, a suspended laptop) is dropped, which
    // cancels its response like any disconnect.
    this.#keepalive = setInterval(() => {
      for (const socket of this.#sockets) socket.ping();
    }, options.config.heartbeat_s * 1000);
    this.#keepalive.unref();
  }

  /** Open sockets (for tests and status). */
  get size(): number {
    return this.#sockets.size;
  }

  /**
   * Refuses new sockets and closes the open ones with 1001 (going away); called once the server's
   * runs have drained, so each socket's last response has already sent its terminal event.
   */
  async close(timeoutMs = 2_000): Promise<void> {
    this.#closing = true;
    clearInterval(this.#keepalive);
    this.#options.server.off('upgrade', this.#onUpgrade);
    await Promise.all([...this.#sockets].map((socket) => socket.close(timeoutMs)));
    this.#wss.close();
  }

  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    let refusal: ApiError | undefined;
    let caller: ApiCaller | undefined;
    if (!PATHS.has(path)) {
      refusal = new ApiError(404, `WebSocket mode is served on /v1/responses, not ${path}.`, {
        type: 'invalid_request_error',
        code: 'unknown_url',
      });
    } else if (this.#closing) {
      refusal = shuttingDown();
    } else {
      try {
        caller = this.#options.access(request) ?? LOCAL_CALLER;
      } catch (error) {
        refusal = toApiError(error);
      }
    }
    if (refusal || !caller) {
      refuseUpgrade(socket, refusal ?? toApiError(undefined));
      return;
    }
    const authenticated = caller;
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      const session = new ResponsesSocket(ws, authenticated, this.#options);
      this.#sockets.add(session);
      ws.once('close', () => this.#sockets.delete(session));
    });
  };
}

/** Answers a refused upgrade with a plain HTTP error in OpenAI's shape, then drops the connection. */
function refuseUpgrade(socket: Duplex, error: ApiError): void {
  const body = JSON.stringify(error.toBody());
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...error.headers,
  };
  const head = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');
  socket.once('finish', () => socket.destroy());
  socket.end(`${head}\r\n\r\n${body}`);
}

/** One client connection: its queue of creates, its last unstored response, its liveness. */
class ResponsesSocket {
  readonly #ws: WebSocket;
  readonly #options: ResponsesWebSocketOptions;
  readonly #cache: SocketResponseCache;
  readonly #gone = new AbortController();
  /** Who authenticated the upgrade: every response of the socket is theirs. */
  readonly #caller: ApiCaller;
  /** Messages are handled strictly in arrival order: the tail of that chain. */
  #tail: Promise<void> = Promise.resolve();
  #alive = true;

  constructor(ws: WebSocket, caller: ApiCaller, options: ResponsesWebSocketOptions) {
    this.#ws = ws;
    this.#options = options;
    this.#cache = new SocketResponseCache(options.store);
    this.#caller = caller;
    const maxAgeS = options.config.responses.websocket_max_connection_s;
    // Queued like a message, so the response running when the limit is reached still ends normally.
    const expiry = setTimeout(() => {
      this.#tail = this.#tail.then(() => this.#expire(maxAgeS));
    }, maxAgeS * 1000);
    expiry.unref();
    ws.on('pong', () => {
      this.#alive = true;
    });
    ws.on('message', (data, isBinary) => {
      this.#tail = this.#tail.then(() => this.#handle(data, isBinary));
    });
    ws.on('error', (error) => {
      // Protocol violations (an oversized message: 1009) close the socket; nothing to answer.
      options.logger.debug({ event: 'responses.ws_error', err: error }, 'websocket error');
    });
    ws.once('close', () => {
      clearTimeout(expiry);
      this.#gone.abort(new RunAbortedError('The client disconnected.'));
    });
  }

  ping(): void {
    if (!this.#alive) {
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    this.#ws.ping();
  }

  /** Closes with 1001 (going away); drops the socket if the peer does not finish the close in time. */
  async close(timeoutMs: number): Promise<void> {
    if (this.#ws.readyState === this.#ws.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.#ws.once('close', () => resolve()));
    const force = setTimeout(() => this.#ws.terminate(), timeoutMs);
    this.#ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    await closed;
    clearTimeout(force);
  }

  async #handle(data: RawData, isBinary: boolean): Promise<void> {
    // Creates still queued when the client left are dropped, not run into a closed socket.
    if (this.#gone.signal.aborted) return;
    let streamId: string | undefined;
    try {
      const create = parseCreate(data, isBinary);
      streamId = create.streamId;
      const turn = await this.#options.turns.prepare(create.body, this.#cache, this.#caller);
      const result = await this.#options.turns.run(turn, {
        open: () => (event) => this.#send(streamId === undefined ? event : { ...event, stream_id: streamId }),
        clientGone: this.#gone.signal,
      });
      await this.#cache.remember(turn, result.finished);
    } catch (error) {
      this.#cache.forget();
      const apiError = toApiError(error);
      if (apiError.status >= 500 && !(error instanceof ApiError)) {
        this.#options.logger.error({ event: 'responses.ws_failed', err: error }, 'websocket create failed');
      }
      await this.#send(errorEvent(apiError, streamId));
    }
  }

  /** OpenAI's connection limit: an error event, then a normal close; the client opens a new socket. */
  async #expire(maxAgeS: number): Promise<void> {
    if (this.#gone.signal.aborted) return;
    const limit = new ApiError(
      400,
      `Responses websocket connection limit reached (${maxAgeS} seconds). Create a new websocket connection to continue.`,
      { code: 'websocket_connection_limit_reached' },
    );
    await this.#send(errorEvent(limit, undefined));
    this.#ws.close(CLOSE_NORMAL, 'connection limit reached');
  }

  #send(event: Record<string, unknown>): Promise<void> {
    if (this.#ws.readyState !== this.#ws.OPEN) return Promise.resolve();
    // Resolving on the write keeps a slow reader from piling a whole response up in memory; a failed
    // write means the socket is closing, which cancels the run through its close event.
    return new Promise((resolve) => this.#ws.send(JSON.stringify(event), () => resolve()));
  }
}

/** The Open Responses `WebSocketErrorEvent`: the HTTP error's fields, its status, and a string `code`. */
function errorEvent(error: ApiError, streamId: string | undefined): Record<string, unknown> {
  const { error: fields } = error.toBody();
  return {
    type: 'error',
    status: error.status,
    error: { ...fields, code: fields.code ?? fields.type },
    ...(streamId === undefined ? {} : { stream_id: streamId }),
  };
}

/**
 * Checks a client message is a `response.create` and returns its create body (marked streamed, which
 * it is) and its optional `stream_id`. Body validation proper is the HTTP route's, in `prepare`.
 */
function parseCreate(data: RawData, isBinary: boolean): { body: Record<string, unknown>; streamId?: string } {
  if (isBinary) {
    throw new ApiError(400, 'WebSocket messages must be JSON text frames.', { code: 'invalid_message' });
  }
  let message: unknown;
  try {
    message = JSON.parse(rawText(data));
  } catch {
    throw new ApiError(400, 'We could not parse the JSON of your message.', { code: 'invalid_json' });
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new ApiError(400, 'A WebSocket message must be a JSON object with a `type`.', {
      param: 'type',
      code: 'invalid_value',
    });
  }
  const { type, stream_id: streamId, ...body } = message as Record<string, unknown>;
  if (type !== 'response.create') {
    throw new ApiError(400, `Unsupported event type '${String(type)}': send 'response.create'.`, {
      param: 'type',
      code: 'invalid_value',
    });
  }
  if (streamId !== undefined && typeof streamId !== 'string') {
    throw new ApiError(400, "Invalid value for 'stream_id': expected a string.", {
      param: 'stream_id',
      code: 'invalid_value',
    });
  }
  for (const field of HTTP_ONLY_FIELDS) {
    if (field in body) {
      throw new ApiError(
        400,
        `'${field}' is an HTTP field and must not be sent over WebSocket: responses always stream on the socket.`,
        { param: field, code: 'unsupported_parameter' },
      );
    }
  }
  return { body: { ...body, stream: true }, ...(streamId === undefined ? {} : { streamId }) };
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
