// The floor the long-poll wake-up is measured against (`npm run bench`), run as its own child
// process: a bare node:http server where `GET /wait/<name>` is held until `POST /wake/<name>`
// arrives, which answers it with the POST's body, then answers the POST. No store, no auth, no
// schemas: what one hop in and one hop out of a Node process costs on this machine.
import http from 'node:http';

const port = Number(process.env.PORT);
const MAX_BODY_BYTES = 64 * 1024;

/** Name → the held GET's response. */
const waiting = new Map<string, http.ServerResponse>();

function answer(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
  const url = req.url ?? '';
  if (req.method === 'GET' && url === '/healthz') {
    answer(res, 200, '{"ok":true}');
    return;
  }
  if (req.method === 'GET' && url.startsWith('/wait/')) {
    const name = url.slice('/wait/'.length);
    waiting.set(name, res);
    res.on('close', () => {
      if (waiting.get(name) === res) waiting.delete(name);
    });
    return;
  }
  if (req.method === 'POST' && url.startsWith('/wake/')) {
    const name = url.slice('/wake/'.length);
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_BODY_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const held = waiting.get(name);
      waiting.delete(name);
      if (held !== undefined) answer(held, 200, body);
      answer(res, held === undefined ? 404 : 200, '{"woken":' + String(held !== undefined) + '}');
    });
    return;
  }
  answer(res, 404, '{"error":"not found"}');
});

server.listen(port, '127.0.0.1');
const stop = (): void => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
