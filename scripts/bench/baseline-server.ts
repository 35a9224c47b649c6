// The baseline `npm run bench` and `npm run bench:live` measure the relay against, run as its own
// child process: about the least a relay can do. Express 5 holds one plain SSE response per
// subscriber; POST /send does one XADD with ioredis and writes the message to its subscriber, if
// any, in this process. No auth, schemas, quota, idempotency or cursors.
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type createExpress from 'express';
import type * as ioredis from 'ioredis';

// express and ioredis are the server workspace's dependencies; resolve them from there.
const requireFromServer = createRequire(new URL('../../server/package.json', import.meta.url));
const express = requireFromServer('express') as typeof createExpress;
const { Redis } = requireFromServer('ioredis') as typeof ioredis;

const port = Number(process.env.PORT);
const redis = new Redis(process.env.REDIS_URL ?? '', {
  keyPrefix: process.env.BASELINE_KEY_PREFIX,
  maxRetriesPerRequest: 1,
});
redis.on('error', (error: Error) => process.stderr.write(`baseline redis: ${error.message}\n`));

/** Mailbox → its subscriber's open SSE response. */
const subscribers = new Map<string, ServerResponse>();

const app = express();
app.disable('x-powered-by');
app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});
app.get('/sub/:mailbox', (req, res) => {
  const { mailbox } = req.params;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.write('event: connected\ndata: {}\n\n');
  subscribers.set(mailbox, res);
  // `res` (not `req`) closes when the client goes away: a GET's `req` closes once it is read.
  res.on('close', () => {
    if (subscribers.get(mailbox) === res) subscribers.delete(mailbox);
  });
});
app.post('/send', express.json({ limit: '2mb' }), async (req, res) => {
  const { to, ciphertext } = req.body as { to?: unknown; ciphertext?: unknown };
  if (typeof to !== 'string' || typeof ciphertext !== 'string') {
    res.status(400).json({ error: 'to and ciphertext must be strings' });
    return;
  }
  const id = await redis.xadd(to, '*', 'ciphertext', ciphertext);
  // Same event layout as the relay's (data line, then id), so one client parser serves both.
  subscribers.get(to)?.write(`data: ${JSON.stringify({ id, ciphertext })}\nid: ${id ?? ''}\n\n`);
  res.json({ id });
});

const server = app.listen(port, '127.0.0.1');
const stop = (): void => {
  server.closeAllConnections();
  server.close();
  redis.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
