/**
 * The HTTP + WebSocket plumbing the Discord and Slack fakes share: a `node:http` server on a random
 * loopback port that hands each request (with its body read) to the fake, upgrades WebSocket
 * connections on the fake's path, tracks open sockets, and closes everything at once. It knows
 * nothing of either platform's protocol; the fakes do.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface LoopbackServerOptions {
  /** Answers one HTTP request; `body` is the raw request body. */
  onRequest(req: IncomingMessage, res: ServerResponse, body: string): void;
  /** Upgrades are accepted only for URLs this accepts; others are dropped. */
  acceptsSocket(url: string): boolean;
  onSocket(ws: WebSocket): void;
}

export interface LoopbackServer {
  readonly port: number;
  /** WebSocket connections still open. */
  readonly sockets: ReadonlySet<WebSocket>;
  close(): Promise<void>;
}

export async function startLoopbackServer(options: LoopbackServerOptions): Promise<LoopbackServer> {
  const sockets = new Set<WebSocket>();
  const server = createServer((req, res) => {
    void readBody(req).then((body) => options.onRequest(req, res, body));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!options.acceptsSocket(req.url ?? '')) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      options.onSocket(ws);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * A loopback port nothing listens on right now (the OS picked it, then it was released): for a client
 * that must find its server unreachable, or a server the code under test will start itself.
 */
export async function unusedLoopbackPort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
