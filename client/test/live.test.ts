// End to end: the live inbox (subscribe and inbox()) over SSE and WebSocket against real relay
// processes, through a TCP proxy that can cut every connection, and across a relay restart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadDropClient } from '../src/client.js';
import type { SubscribeOptions } from '../src/client-types.js';
import { isDeadDropError } from '../src/errors.js';
import { isUnreadable, type InboxEntry, type ReceivedMessage } from '../src/inbox-entry.js';
import { createIdentity } from '../src/keystore.js';
import type { LiveConnectionEvent } from '../src/live/follow-inbox.js';
import type { LiveTransport } from '../src/live/live-connection.js';
import { loadMailboxState } from '../src/mailbox-state.js';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { startTcpProxy, type TcpProxy } from '@deaddrop/test-support/tcp-proxy';

const WAIT_MS = 15_000;

let relay: SpawnedRelay;
let proxy: TcpProxy;
let scratch: string;
let counter = 0;

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-live-e2e-')),
  ]);
  proxy = await startTcpProxy(relay.url);
});

afterAll(async () => {
  await proxy.close();
  await relay.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** A registered agent with its own home; `via` is the URL it talks to (the proxy, say). */
async function newAgent(prefix: string, relayUrl: string, via = relayUrl) {
  const agentId = `${prefix}-${counter++}`;
  const identity = await createIdentity(agentId, { home: join(scratch, agentId), relayUrl });
  await new DeadDropClient({ identity }).register();
  return new DeadDropClient({ identity, relayUrl: via });
}

async function waitFor(condition: () => boolean, what: () => string, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function bodies(entries: readonly InboxEntry[]): unknown[] {
  return entries.map((entry) => (isUnreadable(entry) ? entry.error : entry.body));
}

/** A running subscription that records what it gets. */
function listen(client: DeadDropClient, options: Omit<SubscribeOptions, 'onMessage'>) {
  const entries: InboxEntry[] = [];
  const events: LiveConnectionEvent[] = [];
  const errors: unknown[] = [];
  const subscription = client.subscribe({
    ...options,
    onMessage: (entry) => {
      entries.push(entry);
    },
    onConnection: (event) => events.push(event),
    onError: (error) => errors.push(error),
  });
  return {
    entries,
    events,
    errors,
    connected: () => events.filter((event) => event.state === 'connected').length,
    reconnects: () =>
      events.flatMap((event) => (event.state === 'reconnecting' ? [event.error] : [])),
    /** Waits until `count` entries arrived (or an error ended the subscription). */
    async until(count: number) {
      await waitFor(
        () => entries.length >= count || errors.length > 0,
        () => `${count} entries, got ${JSON.stringify(bodies(entries))}`,
      );
      expect(errors).toEqual([]);
    },
    async stop() {
      subscription.unsubscribe();
      await subscription.closed;
    },
  };
}

/** Sends numbered messages one by one; returns the relay ids. */
async function sendNumbered(from: DeadDropClient, to: string, numbers: readonly number[]) {
  const ids: string[] = [];
  for (const n of numbers) ids.push((await from.sendMessage({ to, message: { n } })).id);
  return ids;
}

function numbers(entries: readonly InboxEntry[]): unknown[] {
  return entries.map((entry) =>
    isUnreadable(entry) ? entry.error : (entry.body as { n?: unknown }).n,
  );
}

async function savedCursor(client: DeadDropClient): Promise<string> {
  const state = await loadMailboxState(client.identity.home, client.agentId);
  return state.cursor((await client.info()).relayId);
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, index) => from + index);

describe.each<LiveTransport>(['sse', 'ws'])('live inbox over %s', (transport) => {
  it('replays the backlog, then delivers new messages as they arrive, verified', async () => {
    const [alice, bob] = await Promise.all([
      newAgent('alice', relay.url),
      newAgent('bob', relay.url),
    ]);
    const [first] = await sendNumbered(alice, bob.agentId, [1]);
    const live = listen(bob, { transport });
    await live.until(1);
    const ids = await sendNumbered(alice, bob.agentId, [2, 3]);
    await live.until(3);
    await live.stop();

    expect(numbers(live.entries)).toEqual([1, 2, 3]);
    expect(live.entries.map((entry) => entry.id)).toEqual([first, ...ids]);
    expect(live.entries[2]).toMatchObject({
      from: alice.agentId,
      verified: true,
      pinSource: 'directory',
    } satisfies Partial<ReceivedMessage>);
    expect(await savedCursor(bob)).toBe(ids[1]);
    // The cursor is shared with pollAndDecrypt: nothing is delivered twice.
    expect(await bob.pollAndDecrypt()).toEqual([]);
  });

  it('resumes exactly after the last message when every connection is cut mid-stream', async () => {
    const [alice, bob] = await Promise.all([
      newAgent('alice', relay.url),
      newAgent('bob', relay.url, proxy.url),
    ]);
    await sendNumbered(alice, bob.agentId, [1, 2, 3]);
    const live = listen(bob, { transport });
    await live.until(3);

    proxy.dropAll();
    // Sent while the connection is down: replayed after the reconnect.
    await sendNumbered(alice, bob.agentId, [4, 5]);
    await live.until(5);
    await sendNumbered(alice, bob.agentId, [6]);
    await live.until(6);
    proxy.dropAll();
    await sendNumbered(alice, bob.agentId, [7, 8]);
    await live.until(8);
    await live.stop();

    expect(numbers(live.entries)).toEqual(range(1, 8));
    expect(live.connected()).toBeGreaterThanOrEqual(3);
    expect(live.reconnects()).toContainEqual(
      expect.objectContaining({
        reason: 'RELAY_UNREACHABLE',
        message: expect.stringContaining('lost the live connection') as unknown,
      }),
    );
  });

  it('fails at once when a fresh proof is refused, instead of retrying forever', async () => {
    // An id registered with another key: this identity's proofs never verify. (An id nobody
    // holds would be registered by the inbox itself, see recovery.test.ts.)
    const holder = await newAgent('ghost', relay.url);
    const identity = await createIdentity(holder.agentId, {
      home: join(scratch, 'ghosts'),
      relayUrl: relay.url,
    });
    const ghost = new DeadDropClient({ identity });
    const started = Date.now();
    const iterate = async () => {
      for await (const entry of ghost.inbox({ transport })) expect(entry).toBeUndefined();
    };
    await expect(iterate()).rejects.toMatchObject({
      name: 'DeadDropError',
      reason: 'AUTH_BAD_SIGNATURE',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('the live inbox', () => {
  it('with connectionParams, restarts from its cursor with a fresh proof when a reconnect is refused', async () => {
    const [alice, bob] = await Promise.all([
      newAgent('alice', relay.url),
      newAgent('bob', relay.url, proxy.url),
    ]);
    const live = listen(bob, { transport: 'sse', authIn: 'connectionParams' });
    await sendNumbered(alice, bob.agentId, [1, 2]);
    await live.until(2);

    proxy.dropAll();
    await sendNumbered(alice, bob.agentId, [3]);
    await live.until(3);
    await sendNumbered(alice, bob.agentId, [4]);
    await live.until(4);
    await live.stop();

    expect(numbers(live.entries)).toEqual([1, 2, 3, 4]);
    // EventSource's own reconnect re-sent the used proof: refused with 401 before any stream.
    expect(live.reconnects()).toContainEqual(
      expect.objectContaining({ reason: 'AUTH_REPLAYED', httpStatus: 401 }),
    );
  });

  it('inbox() yields entries in a for-await loop; a break saves the cursor at the last one', async () => {
    const [alice, bob] = await Promise.all([
      newAgent('alice', relay.url),
      newAgent('bob', relay.url),
    ]);
    const ids = await sendNumbered(alice, bob.agentId, [1, 2, 3]);
    const seen: InboxEntry[] = [];
    for await (const entry of bob.inbox()) {
      seen.push(entry);
      if (seen.length === 2) break;
    }
    expect(numbers(seen)).toEqual([1, 2]);
    expect(await savedCursor(bob)).toBe(ids[1]);

    const controller = new AbortController();
    const rest: InboxEntry[] = [];
    for await (const entry of bob.inbox({ transport: 'ws', signal: controller.signal })) {
      rest.push(entry);
      controller.abort();
    }
    expect(numbers(rest)).toEqual([3]);
    expect(await savedCursor(bob)).toBe(ids[2]);
  });

  it.each([
    { sealed: 'v1', forwardSecret: false },
    { sealed: 'v2', forwardSecret: true },
  ])(
    'subscribe: an onMessage that throws ends it, and that message ($sealed) is delivered again later',
    async ({ forwardSecret }) => {
      const [alice, bob] = await Promise.all([
        newAgent('alice', relay.url),
        newAgent('bob', relay.url),
      ]);
      const ids: string[] = [];
      for (const n of [1, 2, 3]) {
        const sent = await alice.sendMessage({
          to: bob.agentId,
          message: { n },
          // A key accepted as given is sealed v1 (the relay's prekeys cannot vouch for it).
          ...(forwardSecret ? {} : { recipientKey: bob.agentKey, acceptKey: true }),
        });
        expect(sent.forwardSecret).toBe(forwardSecret);
        ids.push(sent.id);
      }
      const got: unknown[] = [];
      const failure = new Error('handler failed');
      const subscription = bob.subscribe({
        onMessage: (entry) => {
          got.push(numbers([entry])[0]);
          if (got.length === 2) throw failure;
        },
      });
      await expect(subscription.closed).rejects.toBe(failure);
      expect(got).toEqual([1, 2]);
      // v1: message 2 stays after the cursor and comes from the relay again. v2: its prekey
      // secret was deleted before the hand-over, so it was recorded first; this client holds the
      // opened message over for its next inbox.
      expect(await savedCursor(bob)).toBe(forwardSecret ? ids[1] : ids[0]);

      const again = listen(bob, { transport: 'ws' });
      await again.until(2);
      await again.stop();
      expect(numbers(again.entries)).toEqual([2, 3]);
    },
  );

  it('drops a replayed envelope and a duplicate from an overlapping after', async () => {
    const [alice, bob] = await Promise.all([
      newAgent('alice', relay.url),
      newAgent('bob', relay.url),
    ]);
    const [first] = await sendNumbered(alice, bob.agentId, [1]);
    const live = listen(bob, {});
    await live.until(1);
    await live.stop();
    // Start again from the beginning: the replay cache still knows message 1.
    const again = listen(bob, { after: '0-0', transport: 'ws' });
    await sendNumbered(alice, bob.agentId, [2]);
    await again.until(2);
    await again.stop();
    expect(bodies(again.entries)[0]).toBe('replayed');
    expect(again.entries[0]?.id).toBe(first);
    expect(numbers(again.entries.slice(1))).toEqual([2]);
    await expect(
      (async () => {
        for await (const entry of bob.inbox({ after: 'yesterday' })) expect(entry).toBeUndefined();
      })(),
    ).rejects.toSatisfy((error) => isDeadDropError(error, 'BAD_INPUT'));
  });
});

describe('the live inbox on a relay with access keys', () => {
  it('sends the key on every transport, and fails at once without it', async () => {
    const apiKey = 'live-access-key-0123456789';
    const locked = await spawnRelay({ DEADDROP_API_KEYS: apiKey });
    try {
      const agent = async (prefix: string) => {
        const agentId = `${prefix}-${counter++}`;
        const identity = await createIdentity(agentId, {
          home: join(scratch, agentId),
          relayUrl: locked.url,
        });
        const client = new DeadDropClient({ identity, apiKey });
        await client.register();
        return client;
      };
      const [alice, bob] = await Promise.all([agent('alice'), agent('bob')]);
      const runs = [
        { transport: 'sse' },
        { transport: 'sse', authIn: 'connectionParams' },
        { transport: 'ws' },
      ] as const;
      for (const [index, options] of runs.entries()) {
        await sendNumbered(alice, bob.agentId, [index]);
        const live = listen(bob, options);
        await live.until(1);
        await live.stop();
        expect(numbers(live.entries)).toEqual([index]);
      }
      expect(await bob.pollAndDecrypt()).toEqual([]);

      const keyless = new DeadDropClient({ identity: bob.identity });
      for (const transport of ['sse', 'ws'] as const) {
        const live = listen(keyless, { transport, after: '0-0' });
        await waitFor(
          () => live.errors.length > 0,
          () => `an error over ${transport}`,
        );
        expect(live.errors).toEqual([expect.objectContaining({ reason: 'API_KEY_INVALID' })]);
      }
    } finally {
      await locked.stop();
    }
  });
});

describe('the live inbox across relay restarts', { tags: ['slow'] }, () => {
  it('resumes on both transports when the relay restarts on the same data folder', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'deaddrop-restart-'));
    let restartable = await spawnRelay({ DEADDROP_DATA_DIR: dataDir, WS_MAX_AGE_SECONDS: '2' });
    const port = new URL(restartable.url).port;
    try {
      const [alice, bob, carol] = await Promise.all([
        newAgent('alice', restartable.url),
        newAgent('bob', restartable.url),
        newAgent('carol', restartable.url),
      ]);
      const overSse = listen(bob, { transport: 'sse' });
      const overWs = listen(carol, { transport: 'ws' });
      for (const n of [1, 2]) {
        await alice.sendMessage({ to: bob.agentId, message: { n } });
        await alice.sendMessage({ to: carol.agentId, message: { n } });
      }
      await Promise.all([overSse.until(2), overWs.until(2)]);
      // Past WS_MAX_AGE_SECONDS the relay closes the WebSocket; it reconnects with a fresh proof.
      await waitFor(
        () => overWs.connected() >= 2,
        () => 'a WebSocket reconnect after max age',
      );

      await restartable.stop();
      restartable = await spawnRelay({ DEADDROP_DATA_DIR: dataDir, PORT: port });
      for (const n of [3, 4]) {
        await alice.sendMessage({ to: bob.agentId, message: { n } });
        await alice.sendMessage({ to: carol.agentId, message: { n } });
      }
      await Promise.all([overSse.until(4), overWs.until(4)]);
      await Promise.all([overSse.stop(), overWs.stop()]);
      expect(numbers(overSse.entries)).toEqual([1, 2, 3, 4]);
      expect(numbers(overWs.entries)).toEqual([1, 2, 3, 4]);
    } finally {
      await restartable.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
