/**
 * A small round-robin load balancer on a loopback port, standing in for nginx or a cloud balancer in
 * front of several `herald serve` replicas (tests and bench/replicas.ts). Each request goes to the next
 * target in turn; the response is piped back as it arrives (Server-Sent Events stream through chunk by
 * chunk, nothing is buffered), and a client that goes away aborts its upstream request. Like nginx's
 * `proxy_next_upstream error`, a request whose target refuses the connection (a killed replica) is
 * tried on the next one; request bodies are read first to make that possible. It records which target
 * served each request. It does not proxy WebSocket upgrades, health-check targets or retry anything
 * that reached a replica.
 */
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  /** Index in `targets` of the replica that answered (or -1: none would). */
  target: number;
}

export class RoundRobinProxy {
  /** Base URLs (`http://127.0.0.1:port`) of the replicas, in turn order. */
  readonly targets: string[];
  readonly served: ProxiedRequest[] = [];
  readonly #server: http.Server;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  #next = 0;

  private constructor(server: http.Server, targets: string[]) {
    this.#server = server;
    this.targets = targets;
  }

  static async start(targets: string[], options: { port?: number } = {}): Promise<RoundRobinProxy> {
    const server = http.createServer();
    // Streams last as long as agent runs do.
    server.requestTimeout = 0;
    const proxy = new RoundRobinProxy(server, [...targets]);
    server.on('request', (req, res) => void proxy.#forward(req, res));
    server.listen({ port: options.port ?? 0, host: '127.0.0.1', backlog: 2048 });
    await once(server, 'listening');
    return proxy;
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }

  async #forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const record: ProxiedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', target: -1 };
    this.served.push(record);
    const first = this.#next++ % this.targets.length;
    for (let attempt = 0; attempt < this.targets.length; attempt++) {
      const target = (first + attempt) % this.targets.length;
      const outcome = await this.#try(this.targets[target]!, req, res, body);
      if (outcome === 'answered') {
        record.target = target;
        return;
      }
    }
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'No replica answered.', type: 'server_error' } }));
    }
  }

  /** Sends the request to one target; 'refused' when it never reached it (try the next one). */
  #try(
    base: string,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
  ): Promise<'answered' | 'refused'> {
    const url = new URL(req.url ?? '/', base);
    return new Promise((resolve) => {
      const upstream = http.request(url, {
        method: req.method,
        headers: { ...req.headers, host: url.host },
        agent: this.#agent,
      });
      upstream.on('response', (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        res.flushHeaders();
        upRes.pipe(res);
        // A replica that dies mid-stream cuts the client's stream too, as a balancer would.
        upRes.on('error', () => res.destroy());
        upRes.on('aborted', () => res.destroy());
        resolve('answered');
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        const neverReached =
          error.code === 'ECONNREFUSED' || (error.code === 'ECONNRESET' && upstream.reusedSocket);
        if (!res.headersSent && neverReached) {
          resolve('refused');
          return;
        }
        res.destroy();
        resolve('answered');
      });
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.end(body);
    });
  }
}
