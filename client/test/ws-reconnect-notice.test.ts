// A relay that sends tRPC's reconnect notice on every WebSocket cannot make the SDK reconnect in
// a tight loop.
import { createServer } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { deriveAgentKeys, generateSeed } from '@deaddrop/contract';
import { openLiveConnection } from '../src/live/live-connection.js';

let url: string;
let connections = 0;
const server = createServer();
const wss = new WebSocketServer({ server });

beforeAll(async () => {
  wss.on('connection', (socket) => {
    connections++;
    socket.on('error', () => undefined);
    setTimeout(() => {
      socket.send(JSON.stringify({ id: null, method: 'reconnect' }));
    }, 20);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no port');
  url = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  for (const client of wss.clients) client.terminate();
  await new Promise((resolve) => server.close(resolve));
});

it('a relay asking for reconnects on every socket does not get a tight loop', async () => {
  const keys = deriveAgentKeys(generateSeed());
  const live = openLiveConnection({
    relayUrl: url,
    signer: { agentId: 'bob', keys },
    relayId: () => Promise.resolve('relay'),
    transport: 'ws',
    maxMessageBytes: 1_048_576,
  });
  const subscription = live.relay.inbox.subscribe(
    { after: '0-0' },
    { onData: () => undefined, onError: () => undefined },
  );
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  subscription.unsubscribe();
  live.close();
  // Backoff like wsRetryDelayMs (250 ms · 2^n, up to 10 s) would allow a handful in 2 s.
  expect(connections).toBeLessThan(10);
}, 10_000);
