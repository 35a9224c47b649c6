// The baseline of `npm run bench` (its own child process): what someone would write by hand instead
// of DeadDrop — a bare Express 5 endpoint that XADDs the posted ciphertext with ioredis. No schema,
// no size or quota checks, no idempotency, no notification: it does less than the relay.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../server/package.json', import.meta.url));
const express = require('express');
const { Redis } = require('ioredis');

const redis = new Redis(process.env.REDIS_URL, {
  keyPrefix: process.env.BASELINE_KEY_PREFIX,
  maxRetriesPerRequest: 1,
});
redis.on('error', (error) => process.stderr.write(`baseline redis: ${error.message}\n`));

const app = express();
app.disable('x-powered-by');
app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});
app.post('/send', express.json({ limit: '4mb' }), async (req, res) => {
  const { to, ciphertext } = req.body;
  const id = await redis.xadd(`${to}:inbox`, '*', 'c', ciphertext);
  res.json({ id });
});

const server = app.listen(Number(process.env.PORT), '127.0.0.1');
const stop = () => {
  server.closeAllConnections();
  server.close();
  redis.disconnect();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
