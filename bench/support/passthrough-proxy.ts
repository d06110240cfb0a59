/**
 * The benchmark's baseline gateway: a bare `node:http` pass-through proxy that forwards each request to
 * the upstream and pipes the response back untouched. It does no parsing, auth or agent work, so the
 * gap between it and a direct call is the cost of one extra HTTP hop on this machine — the practical
 * floor for any gateway. Run as a child process: prints `{"url": …}` on stdout once listening.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const target = new URL(process.argv[2] ?? 'http://127.0.0.1:9999');
const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

const server = http.createServer((req, res) => {
  const upstream = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
