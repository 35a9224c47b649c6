// The procedure lane aborts a GET long-poll whose client goes away while the request is being
// admitted (rate-limit tokens: a store round trip): its 'close' listener is in place before
// admission, or the poll would wait its whole waitMs for nobody. tRPC's adapter and the plain API
// listen from the start too.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DirectCall } from '../src/direct-calls.js';
import { createProcedureLane } from '../src/http/procedure-lane.js';
import type { RequestAdmission } from '../src/limits/request-admission.js';
import { silentLogger } from '../src/log.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('procedure lane: client gone during admission', () => {
  it('hands the long-poll an aborted signal', async () => {
    let responseClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      responseClosed = resolve;
    });
    // Admission finishes only once the client is gone (as when its Redis round trip outlasts it).
    const admission: RequestAdmission = {
      calls: () => Promise.resolve(),
      keyAccepted: () => true,
      admit: () => closed,
    };
    let called!: (call: DirectCall) => void;
    const calledWith = new Promise<DirectCall>((resolve) => {
      called = resolve;
    });
    const lane = createProcedureLane({
      call: (call) => {
        called(call);
        return new Promise((resolve) => {
          call.signal?.addEventListener('abort', () => {
            resolve({ messages: [], cursor: '0-0' });
          });
        });
      },
      admission,
      maxBodyBytes: 1 << 20,
      maxBatchSize: 10,
      log: silentLogger,
      trustProxyHops: 0,
    });
    const server = http.createServer((req, res) => {
      res.once('close', () => {
        responseClosed();
      });
      if (!lane(req, res)) res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => server.close());
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');

    const socket = net.connect(address.port, '127.0.0.1');
    const input = encodeURIComponent(JSON.stringify({ json: { waitMs: 30_000 } }));
    socket.write(`GET /trpc/poll?input=${input} HTTP/1.1\r\nhost: x\r\n\r\n`);
    // Gone while admission is under way.
    setTimeout(() => socket.destroy(), 50);

    const call = await calledWith;
    expect(call.path).toBe('poll');
    expect(call.signal?.aborted).toBe(true);
  });
});
