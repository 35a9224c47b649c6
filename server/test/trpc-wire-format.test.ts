// The relay speaks tRPC's wire format by hand where tRPC's adapters cost too much (the procedure
// lane for queries and mutations, the SSE writer for subscriptions). That format is not a public
// API of tRPC, so tRPC is pinned to one exact version, and this test (with the lane's equivalence
// test, server/test/procedure-lane.test.ts) fails when the installed tRPC writes otherwise.
import { readFileSync } from 'node:fs';
import { TRPCError, initTRPC, tracked } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import {
  SSE_PING_FRAME,
  SSE_RECONNECT_AFTER_INACTIVITY_MS,
  sseConnectedFrame,
  sseErrorFrame,
  sseItemFrame,
} from '../src/live/sse-frames.js';
import { repoRoot } from '@deaddrop/test-support/spawn-relay';

interface ParsedEvent {
  readonly event: string | undefined;
  readonly id: string | undefined;
  readonly data: string;
}

function parseEvents(text: string): ParsedEvent[] {
  const events: ParsedEvent[] = [];
  const parser = createParser({
    onEvent: (message: EventSourceMessage) => {
      events.push({ event: message.event, id: message.id, data: message.data });
    },
  });
  parser.feed(text);
  return events;
}

function json(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(`${repoRoot}/${path}`, 'utf8')) as Record<string, unknown>;
}

describe('tRPC, pinned', () => {
  it('is installed at exactly the version every package pins', () => {
    const pins = new Set<string>();
    for (const pkg of ['client', 'contract', 'server']) {
      const manifest = json(`${pkg}/package.json`);
      for (const field of ['dependencies', 'devDependencies', 'peerDependencies'])
        for (const [name, range] of Object.entries(
          (manifest[field] ?? {}) as Record<string, string>,
        ))
          if (name.startsWith('@trpc/')) pins.add(`${name}@${range}`);
    }
    const installed = ['@trpc/server', '@trpc/client'].map(
      (name) => `${name}@${String(json(`node_modules/${name}/package.json`).version)}`,
    );
    expect([...pins].sort()).toEqual([...new Set(installed)].sort());
  });
});

describe('the SSE frames the relay writes', () => {
  const item = { id: '1800000000000-7', ciphertext: 'AQID', receivedAt: 1, expiresAt: 2 };

  /** tRPC's own producer (its fetch adapter) for a subscription yielding `item`, then failing. */
  async function trpcStream(): Promise<ParsedEvent[]> {
    const t = initTRPC.create({
      transformer: superjson,
      sse: {
        ping: { enabled: true, intervalMs: 5 },
        client: { reconnectAfterInactivityMs: SSE_RECONNECT_AFTER_INACTIVITY_MS },
      },
    });
    const router = t.router({
      inbox: t.procedure.subscription(async function* () {
        yield tracked(item.id, item);
        await new Promise((resolve) => setTimeout(resolve, 40));
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'ended' });
      }),
    });
    const response = await fetchRequestHandler({
      endpoint: '/trpc',
      router,
      req: new Request('http://relay.test/trpc/inbox'),
    });
    return parseEvents(await response.text());
  }

  it('are the events tRPC’s own producer writes: connected, a tracked item, ping, error', async () => {
    const theirs = await trpcStream();
    const ours = parseEvents(
      sseConnectedFrame(1_000) +
        sseItemFrame(item.id, item) +
        SSE_PING_FRAME +
        sseErrorFrame({ message: 'ended', code: -32600, data: {} }),
    );
    const [connected, message] = theirs;
    expect(ours[0]).toEqual(connected);
    expect(ours[1]).toEqual(message);
    expect(ours[1]?.data).toBe(JSON.stringify(superjson.serialize(item)));
    expect(ours[2]).toEqual(theirs.find((event) => event.event === 'ping'));
    const theirError = theirs.find(
      (event) => event.event !== 'ping' && event !== connected && event !== message,
    );
    expect(theirError?.event).toBe('serialized-error');
    expect(ours[3]?.event).toBe(theirError?.event);
    expect(Object.keys(JSON.parse(ours[3]?.data ?? '{}') as object)).toEqual(
      Object.keys(JSON.parse(theirError?.data ?? '{}') as object),
    );
  });
});
