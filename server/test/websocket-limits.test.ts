// What a WebSocket costs before it proves a mailbox, over real sockets: every upgrade spends a call
// token and takes a slot of its address's live-connection cap (429 past either, the slot given back
// on close); an unauthenticated socket is closed at its deadline, one over the pre-auth byte bound
// at once; an authenticated one stays.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { WS_AUTH_TIMEOUT_CLOSE_CODE } from '../src/live/websocket-pre-auth.js';
import { eventually, wsClient } from './support/live-clients.js';
import {
  authHeader,
  makeAgent,
  rawClient,
  register,
  seal,
  startTestRelay,
  type TestRelay,
} from './support/relay-harness.js';

interface Refusal {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}
/** How an upgrade was answered: the open socket, or the refusal as read from the wire. */
type Upgrade = { readonly status: 101; readonly socket: WebSocket } | Refusal;

function upgrade(url: string, path = '/trpc'): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`);
    socket.once('open', () => {
      resolve({ status: 101, socket });
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('end', () => {
        const retryAfter = response.headers['retry-after'];
        resolve({ status: response.statusCode ?? 0, retryAfter, body });
      });
    });
    socket.once('error', reject);
  });
}

function opened(upgrades: readonly Upgrade[]): WebSocket[] {
  return upgrades.flatMap((answer) => ('socket' in answer ? [answer.socket] : []));
}

function refusals(upgrades: readonly Upgrade[]): Refusal[] {
  return upgrades.flatMap((answer) => ('socket' in answer ? [] : [answer]));
}

function closeAll(sockets: readonly WebSocket[]): void {
  for (const socket of sockets) socket.terminate();
}

function closed(socket: WebSocket): Promise<{ code: number; at: number }> {
  return new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) resolve({ code: 0, at: Date.now() });
    socket.once('close', (code) => {
      resolve({ code, at: Date.now() });
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`'s value, or 'timed out' after `ms`: a test fails at its assertion, not its timeout. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  return Promise.race([promise, sleep(ms).then(() => 'timed out' as const)]);
}

const relays: TestRelay[] = [];
const start = async (env: Record<string, string>): Promise<TestRelay> => {
  const relay = await startTestRelay('embedded', env);
  relays.push(relay);
  return relay;
};
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
});

describe('live connections per address', () => {
  const CAP = 20;
  // A deadline far beyond the test, so only the cap closes or refuses anything here.
  const env = { RATE_LIVE_CONNECTIONS_PER_ADDRESS: String(CAP), WS_AUTH_TIMEOUT_MS: '30000' };

  it('holds one address to its cap: 300 idle sockets, 20 open, the rest 429', async () => {
    const relay = await start(env);
    const info = await rawClient(relay.url).info.query();
    expect(info.rateLimits.liveConnectionsPerAddress).toBe(CAP);

    const upgrades = await Promise.all(Array.from({ length: 300 }, () => upgrade(relay.url)));
    const sockets = opened(upgrades);
    try {
      expect(sockets).toHaveLength(CAP);
      const refused = refusals(upgrades);
      expect(refused).toHaveLength(300 - CAP);
      for (const { status, body } of refused) {
        expect(status).toBe(429);
        expect(body).toContain(
          `too many live connections are open from this address; close one or retry later: at most ${CAP} from one address`,
        );
      }
      expect(relay.webSockets()).toBe(CAP);
      expect(relay.services.liveConnections.count('127.0.0.1')).toBe(CAP);
    } finally {
      closeAll(sockets);
    }
    await eventually(() => relay.services.liveConnections.count('127.0.0.1') === 0, 5_000);
  });

  it('shares the cap between WebSockets and SSE streams, and gives an SSE slot back on close', async () => {
    const relay = await start(env);
    const owner = makeAgent('owner');
    await register(relay.url, relay.relayId, owner);
    const sockets = opened(
      await Promise.all(Array.from({ length: CAP - 1 }, () => upgrade(relay.url))),
    );
    const streams: AbortController[] = [];
    const openStream = async (): Promise<Response> => {
      const controller = new AbortController();
      streams.push(controller);
      return fetch(`${relay.url}/trpc/inbox`, {
        headers: authHeader(relay.relayId, owner, 'inbox'),
        signal: controller.signal,
      });
    };
    try {
      expect(sockets).toHaveLength(CAP - 1);
      expect((await openStream()).status).toBe(200);
      const refused = await openStream();
      expect(refused.status).toBe(429);
      expect(JSON.stringify(await refused.json())).toContain('TOO_MANY_CONNECTIONS');
      expect((await upgrade(relay.url)).status).toBe(429);
      streams[0]?.abort();
      await eventually(
        () => relay.services.liveConnections.count('127.0.0.1') === CAP - 1,
        5_000,
        'the SSE slot to be released',
      );
      expect((await openStream()).status).toBe(200);
    } finally {
      for (const stream of streams) stream.abort();
      closeAll(sockets);
    }
  });

  it('gives a slot back when its socket closes', async () => {
    const relay = await start(env);
    const sockets = opened(
      await Promise.all(Array.from({ length: CAP }, () => upgrade(relay.url))),
    );
    try {
      expect(sockets).toHaveLength(CAP);
      expect((await upgrade(relay.url)).status).toBe(429);
      const [first] = sockets.splice(0, 1);
      first?.close();
      await eventually(
        () => relay.services.liveConnections.count('127.0.0.1') === CAP - 1,
        5_000,
        'the slot to be released',
      );
      const again = await upgrade(relay.url);
      expect(again.status).toBe(101);
      sockets.push(...opened([again]));
      expect((await upgrade(relay.url)).status).toBe(429);
    } finally {
      closeAll(sockets);
    }
  });
});

describe('WebSocket upgrades and the call rate', () => {
  it('spends a call token per upgrade: the third of a burst of two is 429 with Retry-After', async () => {
    const relay = await start({ RATE_REQUESTS_PER_SECOND: '1', RATE_REQUEST_BURST: '2' });
    const answers: Upgrade[] = [];
    try {
      for (let i = 0; i < 3; i++) answers.push(await upgrade(relay.url));
      expect(answers.map((answer) => answer.status)).toEqual([101, 101, 429]);
      const [refused] = refusals(answers);
      expect(refused?.retryAfter).toBe('1');
      expect(refused?.body).toContain('at most 1 calls a second (bursts of 2) from one address');
    } finally {
      closeAll(opened(answers));
    }
  });
});

describe('WebSocket authentication deadline', () => {
  it('closes an idle unauthenticated socket, keeps an authenticated one', async () => {
    const relay = await start({ WS_AUTH_TIMEOUT_MS: '500' });
    const bob = makeAgent('bob');
    await register(relay.url, relay.relayId, bob);
    // The SDK's way: connectionParams with a fresh proof per connection, then `inbox` at once.
    let connections = 0;
    const { socket, client } = wsClient(relay.url, () => {
      connections++;
      return authHeader(relay.relayId, bob, 'ws');
    });
    const received: string[] = [];
    const errors: unknown[] = [];
    const subscription = client.inbox.subscribe(
      {},
      { onData: (event) => received.push(event.id), onError: (error) => errors.push(error) },
    );
    const idle = await upgrade(relay.url);
    if (!('socket' in idle)) throw new Error(`upgrade refused: ${idle.status}`);
    const openedAt = Date.now();
    try {
      const end = await within(closed(idle.socket), 2_000);
      expect(end).toMatchObject({ code: WS_AUTH_TIMEOUT_CLOSE_CODE });
      if (end !== 'timed out') expect(end.at - openedAt).toBeGreaterThanOrEqual(400);
      // Well past the deadline, the subscription's socket is still the one it opened first.
      await sleep(700);
      expect(connections).toBe(1);
      expect(relay.webSockets()).toBe(1);
      const { id } = await rawClient(relay.url).send.mutate({
        to: bob.agentId,
        ciphertext: seal(makeAgent('alice'), bob),
      });
      await eventually(() => received.length === 1, 5_000, 'live delivery');
      expect(received).toEqual([id]);
      expect(errors).toEqual([]);
      expect(connections).toBe(1);
    } finally {
      subscription.unsubscribe();
      await socket.close();
    }
  });
});

describe('WebSocket bytes before authentication', () => {
  let relay: SpawnedRelay | undefined;
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  it('cuts off a socket that sends more than 8 messages before authenticating', async () => {
    const testRelay = await start({ WS_AUTH_TIMEOUT_MS: '30000' });
    const [polite, chatty] = opened([await upgrade(testRelay.url), await upgrade(testRelay.url)]);
    if (polite === undefined || chatty === undefined) throw new Error('upgrade refused');
    try {
      // tRPC answers each PING with a PONG: small, harmless messages, only too many of them.
      for (let i = 0; i < 8; i++) polite.send('PING');
      for (let i = 0; i < 9; i++) chatty.send('PING');
      expect(await within(closed(chatty), 2_000)).not.toBe('timed out');
      expect(polite.readyState).toBe(WebSocket.OPEN);
    } finally {
      closeAll([polite, chatty]);
    }
  });

  /** The relay process's resident memory (its own, not the test's), in MiB. */
  const rssMiB = (pid: number): number => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    if (kb === undefined) throw new Error('no VmRSS');
    return Number(kb) / 1024;
  };

  it(
    'cuts off 40 sockets sending 3.5 MB connectionParams at once, holding no memory for them',
    { timeout: 30_000, tags: ['slow'] },
    async () => {
      // A deadline far beyond the test: only the byte bound may close these sockets.
      relay = await spawnRelay({ WS_AUTH_TIMEOUT_MS: '30000' });
      const pid = relay.child.pid;
      if (pid === undefined) throw new Error('no relay pid');
      // Warm the upgrade path once, so its first-use cost is not counted.
      closeAll(opened([await upgrade(relay.url)]));
      await sleep(200);
      const before = rssMiB(pid);

      const message = JSON.stringify({
        method: 'connectionParams',
        data: { authorization: 'x'.repeat(3_500_000) },
      });
      const upgrades = await Promise.all(
        Array.from({ length: 40 }, () => upgrade(relay?.url ?? '', '/trpc?connectionParams=1')),
      );
      const sockets = opened(upgrades);
      expect(sockets).toHaveLength(40);
      const sentAt = Date.now();
      const ends = sockets.map((socket) => {
        socket.on('error', () => undefined);
        const end = closed(socket);
        socket.send(message);
        return end;
      });
      const outcome = await within(Promise.all(ends), 3_000);
      await sleep(300);
      const grewMiB = rssMiB(pid) - before;
      closeAll(sockets);
      // 40 frames held whole would be 140 MiB and more; the bound keeps 16 KiB of each.
      expect(grewMiB).toBeLessThan(40);
      expect(outcome).not.toBe('timed out');
      if (outcome !== 'timed out')
        for (const { at } of outcome) expect(at - sentAt).toBeLessThan(3_000);
    },
  );
});
