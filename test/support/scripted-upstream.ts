/**
 * A scripted OpenAI-compatible upstream for tests, benchmarks and trying Herald without a model. It is a
 * real `node:http` server on loopback that answers POST /v1/chat/completions (SSE streamed exactly like
 * OpenAI, or plain JSON) and GET /v1/models, replies with queued `ScriptedTurn`s (FIFO, then a responder),
 * and records every chat request it receives (model-list requests are only counted: the model client
 * reads the list once for the context window, which tests of chat traffic should not have to skip). Turns can inject delays, HTTP errors, a stream cut mid-way or a
 * request that never answers. It deliberately has no dependencies and does no per-request work beyond
 * building the reply, so benchmarks can run a thousand concurrent streams through it. It does not
 * validate requests the way OpenAI does: it accepts any JSON body.
 *
 * By hand: `node test/support/scripted-upstream.ts --port 9999 [--delay-ms N] [--tokens-per-s N]`
 * serves an echo responder ("You said: …", streamed) and prints its URL.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedToolCall {
  id?: string;
  name: string;
  arguments: string | Record<string, unknown>;
}

export interface ScriptedTurn {
  /** Reply text; an array = explicit stream chunks; a string is split into ~4-char chunks when streaming. */
  text?: string | string[];
  toolCalls?: ScriptedToolCall[];
  /** Reasoning streamed before the text (chunked like `text`), in the field `reasoningStyle` names. */
  reasoning?: string | string[];
  /**
   * Where the reasoning goes: `reasoning_content` (DeepSeek, vLLM, llama.cpp; the default), `reasoning`
   * (Ollama), `reasoning_details` (`[{type: 'reasoning.text', text}]`) or `openrouter` (the same text in
   * both `reasoning` and `reasoning_details`, as OpenRouter sends it).
   */
  reasoningStyle?: 'reasoning_content' | 'reasoning' | 'reasoning_details' | 'openrouter';
  /** Reported as `usage.completion_tokens_details.reasoning_tokens`. */
  reasoningTokens?: number;
  /** Stream the tool calls' fragments round-robin (call 0, call 1, call 0, …) instead of one call after the other. */
  interleaveToolCalls?: boolean;
  /**
   * `false` = no `usage` key on any chunk or body (many local servers and proxies); default: prompt =
   * total chars of messages / 4, completion = chunks.
   */
  usage?: { prompt_tokens: number; completion_tokens: number } | false;
  /**
   * Streams report usage like llama.cpp's server: no `usage` key on any chunk but the finish chunk,
   * which carries the totals (whether or not the request asked for `include_usage`). Default: like
   * OpenAI, `usage: null` on every chunk and the totals on an extra last chunk, only with include_usage.
   */
  usageOnFinishChunk?: boolean;
  /** Default: `tool_calls` if toolCalls else `stop`. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  /** Answer with this HTTP error status instead (e.g. 429, 500, 401, 400). */
  status?: number;
  /** Error response body; default `{ error: { message, type, code } }`. */
  errorBody?: unknown;
  /** Retry-After header value sent with the error. */
  retryAfter?: string;
  /** Wait this long before the response starts. */
  delayMs?: number;
  /** Wait this long between stream chunks. */
  chunkDelayMs?: number;
  /**
   * Destroy the socket after N stream chunks (SSE data events: the first only carries the role, like
   * OpenAI's; then one per text chunk or tool-call fragment). 0 = cut before any event. Streamed requests only.
   */
  cutAfterChunks?: number;
  /** Stream normally but end without a finish_reason and without `[DONE]` (a truncated but clean stream). */
  omitFinish?: boolean;
  /** Never answer (until the client aborts). */
  hang?: boolean;
  /** Send the first N stream chunks, then nothing more, keeping the connection open (a stalled stream). */
  stallAfterChunks?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary request JSON without ceremony
  body: any;
  /** Date.now() when the request body had arrived. */
  receivedAt: number;
}

export interface ScriptedUpstreamOptions {
  port?: number;
  /** Entries of GET /v1/models; default: one `scripted-model`. */
  models?: Record<string, unknown>[];
  /** Answers when the queue is empty; default: text "ok". */
  responder?: (req: RecordedRequest) => ScriptedTurn;
}

type Waiter = { n: number; resolve: () => void };

const CHUNK_CHARS = 4;
const ARGUMENT_CHUNK_CHARS = 8;

export class ScriptedUpstream {
  readonly url: string;
  readonly requests: RecordedRequest[] = [];
  /** GET /v1/models requests answered. */
  modelListRequests = 0;
  #aborted = 0;
  #queue: ScriptedTurn[] = [];
  #waiters: Waiter[] = [];
  #server: Server;
  #responder: (req: RecordedRequest) => ScriptedTurn;
  #models: Record<string, unknown>[];
  #nextId = 0;

  private constructor(server: Server, options: ScriptedUpstreamOptions) {
    this.#server = server;
    this.#responder = options.responder ?? (() => ({ text: 'ok' }));
    this.#models = options.models ?? [
      { id: 'scripted-model', object: 'model', created: 0, owned_by: 'scripted-upstream' },
    ];
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/v1`;
  }

  static async start(options: ScriptedUpstreamOptions = {}): Promise<ScriptedUpstream> {
    const server = createServer();
    // Never let Node's request timeout cut a deliberately hanging turn short in a long test.
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Benchmarks open ~1,000 connections at once; the default backlog (511) would drop some SYNs.
      server.listen({ port: options.port ?? 0, host: '127.0.0.1', backlog: 2048 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const upstream = new ScriptedUpstream(server, options);
    server.on('request', (req, res) => upstream.#onRequest(req, res));
    return upstream;
  }

  /** Number of requests whose connection the client closed before the response finished. */
  get aborted(): number {
    return this.#aborted;
  }

  /** Queue turns (FIFO); when the queue is empty the responder answers. */
  /** The environment that points a spawned `herald` at this upstream, with its home in `home`. */
  heraldEnv(home: string): Record<string, string> {
    return {
      HERALD_HOME: home,
      HERALD_BASE_URL: this.url,
      HERALD_API_KEY: 'sk-scripted',
      HERALD_MODEL: 'scripted-model',
    };
  }

  enqueue(...turns: ScriptedTurn[]): void {
    this.#queue.push(...turns);
  }

  /** Turns queued but not yet answered. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Drops every queued turn and returns how many there were. Tests sharing one upstream call it between
   * tests: a test that failed before its requests consumed its turns must not hand them (a `hang`, a
   * slow stream) to the next test, which would then fail for no reason of its own or wait for a timeout.
   */
  clear(): number {
    const dropped = this.#queue.length;
    this.#queue.length = 0;
    return dropped;
  }

  /** Resolves when the N-th request (1-based) has arrived. */
  waitForRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** Stops listening and destroys every open socket, hanging requests included. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const raw = Buffer.concat(parts).toString('utf8');
      let body: unknown = raw;
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          // keep the raw text: a test may want to see what a broken client sent
        }
      } else {
        body = undefined;
      }
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: (req.url ?? '/').split('?')[0] ?? '/',
        headers: req.headers,
        body,
        receivedAt: Date.now(),
      };
      if (recorded.method === 'GET' && recorded.path === '/v1/models') {
        this.modelListRequests++;
        sendJson(res, 200, { object: 'list', data: this.#models });
        return;
      }
      this.requests.push(recorded);
      this.#notifyWaiters();
      this.#route(recorded, res);
    });
  }

  #notifyWaiters(): void {
    const count = this.requests.length;
    this.#waiters = this.#waiters.filter((w) => {
      if (count < w.n) return true;
      w.resolve();
      return false;
    });
  }

  #route(req: RecordedRequest, res: ServerResponse): void {
    if (req.method === 'POST' && req.path === '/v1/chat/completions') {
      const turn = this.#queue.shift() ?? this.#responder(req);
      this.#answer(req, turn, res);
      return;
    }
    sendJson(res, 404, { error: { message: `No route ${req.method} ${req.path}`, type: 'not_found' } });
  }

  #answer(req: RecordedRequest, turn: ScriptedTurn, res: ServerResponse): void {
    // Server-initiated cuts are not client aborts; everything else that closes early is.
    const state = { cut: false, timer: undefined as NodeJS.Timeout | undefined };
    res.on('close', () => {
      if (state.timer) clearTimeout(state.timer);
      if (!res.writableFinished && !state.cut) this.#aborted++;
    });
    if (turn.hang) return;
    const start = (): void => {
      if (res.destroyed) return;
      if (turn.status !== undefined && turn.status >= 400) {
        sendError(res, turn);
        return;
      }
      const id = `chatcmpl-scripted-${++this.#nextId}`;
      const model = typeof req.body?.model === 'string' ? req.body.model : 'scripted-model';
      if (req.body?.stream === true) {
        this.#stream(req, turn, res, { id, model }, state);
      } else {
        sendJson(res, 200, completion(req, turn, id, model));
      }
    };
    if (turn.delayMs) state.timer = setTimeout(start, turn.delayMs);
    else start();
  }

  #stream(
    req: RecordedRequest,
    turn: ScriptedTurn,
    res: ServerResponse,
    meta: { id: string; model: string },
    state: { cut: boolean; timer: NodeJS.Timeout | undefined },
  ): void {
    const includeUsage = req.body?.stream_options?.include_usage === true;
    const events = streamEvents(req, turn, meta, includeUsage);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const cutAt = turn.cutAfterChunks;
    if (turn.stallAfterChunks !== undefined) {
      res.write(events.slice(0, turn.stallAfterChunks).join(''));
      return;
    }
    const delay = turn.chunkDelayMs ?? 0;
    let sent = 0;
    const cut = (): void => {
      state.cut = true;
      // Flush what was written, then drop the connection without finishing the chunked body.
      res.write('', () => res.socket?.destroy());
    };
    if (delay <= 0) {
      // No pacing: one write for the whole stream keeps the benchmark path cheap.
      const upTo = cutAt === undefined ? events.length : Math.min(cutAt, events.length);
      res.write(events.slice(0, upTo).join(''));
      if (cutAt !== undefined) cut();
      else res.end();
      return;
    }
    const next = (): void => {
      if (res.destroyed) return;
      if (cutAt !== undefined && sent >= cutAt) {
        cut();
        return;
      }
      const event = events[sent];
      if (event === undefined) {
        res.end();
        return;
      }
      res.write(event);
      sent++;
      state.timer = setTimeout(next, delay);
    };
    next();
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, turn: ScriptedTurn): void {
  const status = turn.status ?? 500;
  const body = turn.errorBody ?? {
    error: { message: `Scripted error ${status}`, type: errorType(status), code: null, param: null },
  };
  const headers: Record<string, string> = {};
  if (turn.retryAfter !== undefined) headers['retry-after'] = turn.retryAfter;
  if (typeof body === 'string') {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
    return;
  }
  sendJson(res, status, body, headers);
}

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 429) return 'rate_limit_exceeded';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function textChunks(text: ScriptedTurn['text']): string[] {
  if (text === undefined) return [];
  if (Array.isArray(text)) return text;
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += CHUNK_CHARS) chunks.push(text.slice(i, i + CHUNK_CHARS));
  return chunks;
}

function fullText(text: ScriptedTurn['text']): string | null {
  if (text === undefined) return null;
  return Array.isArray(text) ? text.join('') : text;
}

interface NormalizedCall {
  id: string;
  name: string;
  arguments: string;
}

function normalizeCalls(turn: ScriptedTurn, responseId: string): NormalizedCall[] {
  return (turn.toolCalls ?? []).map((call, i) => ({
    id: call.id ?? `call_${responseId.slice(-6)}_${i}`,
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }));
}

function finishReasonOf(turn: ScriptedTurn): string {
  return turn.finishReason ?? (turn.toolCalls?.length ? 'tool_calls' : 'stop');
}

function promptTokens(req: RecordedRequest): number {
  const messages: unknown = req.body?.messages;
  if (!Array.isArray(messages)) return 0;
  let chars = 0;
  for (const m of messages) {
    const content: unknown = (m as { content?: unknown })?.content;
    chars += typeof content === 'string' ? content.length : JSON.stringify(content ?? '').length;
  }
  return Math.ceil(chars / 4);
}

function usageOf(req: RecordedRequest, turn: ScriptedTurn, completionChunks: number) {
  const u = turn.usage || { prompt_tokens: promptTokens(req), completion_tokens: completionChunks };
  const details =
    turn.reasoningTokens === undefined
      ? {}
      : { completion_tokens_details: { reasoning_tokens: turn.reasoningTokens } };
  return { ...u, total_tokens: u.prompt_tokens + u.completion_tokens, ...details };
}

/** The reasoning fields of a delta (or message) in the turn's style. */
function reasoningFields(turn: ScriptedTurn, text: string): Record<string, unknown> {
  const details = [{ type: 'reasoning.text', text, format: 'unknown', index: 0 }];
  switch (turn.reasoningStyle ?? 'reasoning_content') {
    case 'reasoning_content':
      return { reasoning_content: text };
    case 'reasoning':
      return { reasoning: text };
    case 'reasoning_details':
      return { reasoning_details: details };
    case 'openrouter':
      return { reasoning: text, reasoning_details: details };
  }
}

function completion(req: RecordedRequest, turn: ScriptedTurn, id: string, model: string): unknown {
  const calls = normalizeCalls(turn, id);
  const content = fullText(turn.text);
  const message: Record<string, unknown> = { role: 'assistant', content, refusal: null };
  const reasoning = fullText(turn.reasoning);
  if (reasoning !== null) Object.assign(message, reasoningFields(turn, reasoning));
  if (calls.length > 0) {
    message['tool_calls'] = calls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    }));
  }
  const chunkCount = textChunks(turn.text).length + calls.length;
  const body: Record<string, unknown> = {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(turn) }],
  };
  if (turn.usage !== false) body['usage'] = usageOf(req, turn, chunkCount);
  return body;
}

/** Builds every SSE event of a streamed reply, `[DONE]` included, as ready-to-write strings. */
function streamEvents(
  req: RecordedRequest,
  turn: ScriptedTurn,
  meta: { id: string; model: string },
  includeUsage: boolean,
): string[] {
  const created = Math.floor(Date.now() / 1000);
  const onFinishChunk = turn.usageOnFinishChunk === true && turn.usage !== false;
  const sendUsage = includeUsage && turn.usage !== false && !onFinishChunk;
  const event = (choices: unknown[], usage?: unknown): string => {
    const chunk: Record<string, unknown> = {
      id: meta.id,
      object: 'chat.completion.chunk',
      created,
      model: meta.model,
      choices,
    };
    // OpenAI sends `usage: null` on every chunk when include_usage is on, the totals on the last one.
    if (sendUsage || usage !== undefined) chunk['usage'] = usage ?? null;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };
  const deltas: Record<string, unknown>[] = [
    ...textChunks(turn.reasoning).map((text) => reasoningFields(turn, text)),
    ...textChunks(turn.text).map((content) => ({ content })),
  ];
  const fragments = toolCallFragments(normalizeCalls(turn, meta.id), turn.interleaveToolCalls === true);
  for (const fragment of fragments) deltas.push({ tool_calls: [fragment] });
  const completionChunks = deltas.length;
  // Like OpenAI: a first chunk that only opens the assistant message, then the content.
  deltas.unshift({ role: 'assistant', content: turn.text === undefined ? null : '', refusal: null });
  const events = deltas.map((delta) => event([{ index: 0, delta, finish_reason: null }]));
  if (turn.omitFinish) return events;
  const finishUsage = onFinishChunk ? usageOf(req, turn, completionChunks) : undefined;
  events.push(event([{ index: 0, delta: {}, finish_reason: finishReasonOf(turn) }], finishUsage));
  if (sendUsage) events.push(event([], usageOf(req, turn, completionChunks)));
  events.push('data: [DONE]\n\n');
  return events;
}

/** OpenAI's tool-call streaming shape: a head fragment with id/type/name and empty arguments, then argument pieces. */
function toolCallFragments(calls: NormalizedCall[], interleave: boolean): Record<string, unknown>[] {
  const perCall = calls.map((call, index) => {
    const fragments: Record<string, unknown>[] = [
      { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
    ];
    for (let i = 0; i < call.arguments.length; i += ARGUMENT_CHUNK_CHARS) {
      fragments.push({ index, function: { arguments: call.arguments.slice(i, i + ARGUMENT_CHUNK_CHARS) } });
    }
    return fragments;
  });
  if (!interleave) return perCall.flat();
  const out: Record<string, unknown>[] = [];
  const longest = Math.max(0, ...perCall.map((f) => f.length));
  for (let i = 0; i < longest; i++) {
    for (const fragments of perCall) {
      const fragment = fragments[i];
      if (fragment) out.push(fragment);
    }
  }
  return out;
}

/** The user texts the upstream saw in one request, oldest first. */
export function userTexts(request: RecordedRequest): string[] {
  return (request.body.messages as Array<{ role: string; content: unknown }>)
    .filter((m) => m.role === 'user')
    .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)));
}

/** The by-hand responder: echoes the last user message. */
export function echoResponder(
  options: { delayMs?: number; tokensPerSecond?: number } = {},
): (req: RecordedRequest) => ScriptedTurn {
  const chunkDelayMs = options.tokensPerSecond ? 1000 / options.tokensPerSecond : undefined;
  return (req: RecordedRequest): ScriptedTurn => {
    const messages: Array<{ role?: string; content?: unknown }> = Array.isArray(req.body?.messages)
      ? req.body.messages
      : [];
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const content = lastUser?.content;
    const said =
      typeof content === 'string'
        ? content
        : Array.isArray(content)
          ? content.map((p: { text?: string }) => p.text ?? '').join(' ')
          : '';
    return { text: `You said: ${said}`, delayMs: options.delayMs, chunkDelayMs };
  };
}

function argValue(args: string[], name: string): number | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} expects a non-negative number`);
  return value;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const upstream = await ScriptedUpstream.start({
    port: argValue(args, '--port') ?? 9999,
    responder: echoResponder({
      delayMs: argValue(args, '--delay-ms'),
      tokensPerSecond: argValue(args, '--tokens-per-s'),
    }),
  });
  process.stdout.write(
    `Scripted upstream listening on ${upstream.url}\nTry: HERALD_BASE_URL=${upstream.url} HERALD_MODEL=scripted-model npm start\n`,
  );
  const stop = (): void => {
    void upstream.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
