// Byte order marks at the start of an SSE stream do not smuggle `retry:` or `connected` advice
// past the guard: it reads the same first line the EventSource parser reads.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParser } from 'eventsource-parser';
import { DeadDropClient } from '../src/client.js';
import { createIdentity } from '../src/keystore.js';
import { eventLimitsFor, guardEventStreamResponse } from '../src/live/event-stream-guard.js';
import { startHostileRelay, type HostileRelay } from '@deaddrop/test-support/hostile-relay';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Bytes through the guard exactly as live-connection.ts pipes them, then parsed as the EventSource does. */
async function throughGuard(bytes: Buffer) {
  const guarded = guardEventStreamResponse(
    new Response(bytes, { status: 200 }),
    eventLimitsFor(1_000_000),
    () => undefined,
  );
  const out = new Uint8Array(await guarded.arrayBuffer());
  const retries: number[] = [];
  const events: { event?: string | undefined; data: string }[] = [];
  const parser = createParser({
    onRetry: (ms) => retries.push(ms),
    onEvent: (event) => events.push({ event: event.event, data: event.data }),
  });
  parser.feed(new TextDecoder().decode(out)); // eventsource: new TextDecoder(), BOM stripped
  return { retries, events };
}

describe('review: double BOM', () => {
  it('a retry: 0 on the first line is held to 250 ms', async () => {
    const { retries } = await throughGuard(Buffer.concat([BOM, BOM, Buffer.from('retry: 0\n\n')]));
    expect(retries).toEqual([250]);
  });

  it('a connected event on the first line has its inactivity advice clamped', async () => {
    const { events } = await throughGuard(
      Buffer.concat([
        BOM,
        BOM,
        Buffer.from('event: connected\ndata: {"reconnectAfterInactivityMs":1}\n\n'),
      ]),
    );
    expect(events).toEqual([{ event: 'connected', data: '{"reconnectAfterInactivityMs":5000}' }]);
  });
});

describe('review: double BOM against the SDK', () => {
  let relay: HostileRelay;
  let scratch: string;
  beforeAll(async () => {
    relay = await startHostileRelay();
    scratch = await mkdtemp(join(tmpdir(), 'deaddrop-review-bom-'));
  });
  afterAll(async () => {
    await relay.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('a relay cannot make the live inbox reconnect in a tight loop', async () => {
    const identity = await createIdentity('bob', {
      home: join(scratch, 'bob'),
      relayUrl: relay.url,
    });
    const bob = new DeadDropClient({ identity });
    await bob.register();
    relay.misbehave('inbox', () => ({
      preamble: false,
      events: [{ raw: Buffer.concat([BOM, BOM, Buffer.from('retry: 0\n\n')]) }],
      then: 'end',
    }));
    const before = relay.callsTo('inbox').length;
    const controller = new AbortController();
    const reading = (async () => {
      try {
        for await (const entry of bob.inbox({ signal: controller.signal }))
          expect(entry).toBeDefined();
      } catch {
        /* ended */
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    controller.abort();
    await reading;
    // retry held to >= 250 ms: at most ~9 attempts in 2 s.
    expect(relay.callsTo('inbox').length - before).toBeLessThan(15);
  }, 10_000);
});
