// The live inbox over SSE and WebSocket with real tRPC clients, on both stores: replay then live
// delivery in order, resume after a forced drop with no gap and no duplicate, proofs per
// connection, listener cleanup, 401 before any SSE stream, and slow consumers cut off.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '@deaddrop/contract';
import { TRPCClientError } from '@trpc/client';
import { WebSocket } from 'ws';
import { eventually, subscribeInbox, wsClient, type Transport } from './support/live-clients.js';
import {
  authHeader,
  makeAgent,
  rawClient,
  register,
  seal,
  startTestRelay,
  type StoreKind,
  type TestAgent,
  type TestRelay,
} from './support/relay-harness.js';

const sender = makeAgent('sender');

/** A real envelope from `sender` (the relay checks only its shape and size). */
function sealTo(to: TestAgent, body: JsonValue = 'hi'): string {
  return seal(sender, to, body);
}

describe.each<StoreKind>(['embedded', 'redis'])('live inbox (%s store)', (kind) => {
  let relay: TestRelay;
  let counter = 0;
  const newAgent = async (): Promise<TestAgent> => {
    const agent = makeAgent(`live-${counter++}`);
    await register(relay.url, relay.relayId, agent);
    return agent;
  };
  const send = async (to: TestAgent, count: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++)
      ids.push(
        (await rawClient(relay.url).send.mutate({ to: to.agentId, ciphertext: sealTo(to, i) })).id,
      );
    return ids;
  };

  beforeAll(async () => {
    relay = await startTestRelay(kind, {}, { slowConsumerMs: 1_000 });
  });
  afterAll(async () => {
    await relay.stop();
  });

  describe.each<Transport>(['sse', 'ws'])('over %s', (transport) => {
    it('replays, then delivers live, in id order', async () => {
      const agent = await newAgent();
      const before = await send(agent, 3);
      const live = subscribeInbox(transport, relay.url, relay.relayId, agent, { after: before[0] });
      try {
        await eventually(() => live.received.length === 2, 10_000, 'the replay');
        const after = await send(agent, 3);
        await eventually(() => live.received.length === 5, 10_000, 'live messages');
        expect(live.received.map((r) => r.id)).toEqual([...before.slice(1), ...after]);
        expect(live.received.every((r) => r.message.id === r.id)).toBe(true);
        expect(live.errors).toEqual([]);
      } finally {
        await live.close();
      }
    });

    it('resumes exactly after the last id when the connection is dropped', async () => {
      const agent = await newAgent();
      const live = subscribeInbox(transport, relay.url, relay.relayId, agent);
      try {
        const first = await send(agent, 4);
        await eventually(() => live.received.length === 4, 10_000, 'the first batch');
        relay.dropConnections();
        // Let the test's own HTTP client notice its pooled connections are gone before sending.
        await new Promise((resolve) => setTimeout(resolve, 100));
        const second = await send(agent, 4);
        await eventually(() => live.received.length >= 8, 15_000, 'delivery after the reconnect');
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(live.received.map((r) => r.id)).toEqual([...first, ...second]);
      } finally {
        await live.close();
      }
    });

    it('frees the server-side listener on unsubscribe', async () => {
      const agent = await newAgent();
      const base = relay.services.dispatcher.size();
      const live = subscribeInbox(transport, relay.url, relay.relayId, agent);
      try {
        await eventually(
          () => relay.services.dispatcher.size() === base + 1,
          10_000,
          'the listener',
        );
        live.unsubscribe();
        await eventually(
          () => relay.services.dispatcher.size() === base,
          10_000,
          'the listener to go',
        );
      } finally {
        await live.close();
      }
    });
  });

  it('answers a refused SSE request with 401 before any stream, and refuses a replayed proof', async () => {
    const agent = await newAgent();
    const url = `${relay.url}/trpc/inbox?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`;
    const missing = await fetch(url, { headers: { accept: 'text/event-stream' } });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toContain('application/json');
    const body = (await missing.json()) as { error: { json: { data: { reason: string } } } };
    expect(body.error.json.data.reason).toBe('AUTH_MISSING');

    const headers = { ...authHeader(relay.relayId, agent, 'inbox'), accept: 'text/event-stream' };
    const controller = new AbortController();
    const first = await fetch(url, { headers, signal: controller.signal });
    expect(first.status).toBe(200);
    controller.abort();
    const replayed = await fetch(url, { headers });
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as typeof body).error.json.data.reason).toBe('AUTH_REPLAYED');

    const wrongScope = await fetch(url, {
      headers: { ...authHeader(relay.relayId, agent, 'poll'), accept: 'text/event-stream' },
    });
    expect(wrongScope.status).toBe(401);
  });

  it('answers alike before Express (/trpc) and through it (/TRPC): refusals byte for byte, streams', async () => {
    const query = `inbox?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`;
    const answers = await Promise.all(
      ['/trpc/', '/TRPC/'].map(async (mount) => {
        const res = await fetch(`${relay.url}${mount}${query}`, {
          headers: { accept: 'text/event-stream' },
        });
        return {
          status: res.status,
          type: res.headers.get('content-type'),
          length: res.headers.get('content-length'),
          body: await res.text(),
        };
      }),
    );
    expect(answers[0]?.status).toBe(401);
    expect(answers[1]).toEqual(answers[0]);
    for (const mount of ['/trpc/', '/TRPC/']) {
      const agent = await newAgent();
      const controller = new AbortController();
      const res = await fetch(`${relay.url}${mount}${query}`, {
        headers: { ...authHeader(relay.relayId, agent, 'inbox'), accept: 'text/event-stream' },
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = res.body?.getReader();
      const first = await reader?.read();
      expect(new TextDecoder().decode(first?.value)).toContain('event: connected');
      controller.abort();
    }
  });

  it('fails a WebSocket subscription with a replayed proof without closing the socket', async () => {
    const agent = await newAgent();
    const proof = authHeader(relay.relayId, agent, 'ws');
    const good = wsClient(relay.url, () => proof);
    const replayed = wsClient(relay.url, () => proof);
    try {
      await good.client.directory.lookup.query({ agentId: agent.agentId });
      await expect(good.client.stats.query()).resolves.toMatchObject({ agentId: agent.agentId });
      const error = await new Promise<unknown>((resolve) => {
        replayed.client.inbox.subscribe({}, { onError: resolve, onData: () => undefined });
      });
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<never>).data).toMatchObject({
        code: 'UNAUTHORIZED',
        reason: 'AUTH_REPLAYED',
      });
      // The socket stays usable for calls that need no mailbox proof.
      await expect(
        replayed.client.directory.lookup.query({ agentId: agent.agentId }),
      ).resolves.toMatchObject({ agentId: agent.agentId });
    } finally {
      await good.socket.close();
      await replayed.socket.close();
    }
  });

  it(
    'disconnects a slow SSE consumer without delaying a fast one',
    { timeout: 60_000 },
    async () => {
      const slow = await newAgent();
      const fast = await newAgent();
      // A raw socket that sends the request and then never reads (http.IncomingMessage#pause
      // would keep draining the socket into memory).
      const { hostname, port } = new URL(relay.url);
      const headers = authHeader(relay.relayId, slow, 'inbox');
      const stalled = connect({ host: hostname, port: Number(port) });
      stalled.write(
        `GET /trpc/inbox?input=${encodeURIComponent(JSON.stringify({ json: {} }))} HTTP/1.1\r\n` +
          `Host: ${hostname}:${port}\r\nAccept: text/event-stream\r\n` +
          `Authorization: ${headers.authorization ?? ''}\r\n\r\n`,
      );
      stalled.pause();
      let cutOff = false;
      stalled.once('close', () => {
        cutOff = true;
      });
      const live = subscribeInbox('sse', relay.url, relay.relayId, fast);
      try {
        const client = rawClient(relay.url);
        const big = 'x'.repeat(800_000);
        // ≈ 40 MB: more than the kernel's loopback buffers can hold (tcp_wmem + tcp_rmem maxima).
        for (let i = 0; i < 48; i++) {
          await client.send.mutate({ to: slow.agentId, ciphertext: sealTo(slow, `${big}${i}`) });
          if (i === 10) {
            const fastIds = await send(fast, 3);
            await eventually(() => live.received.length === 3, 10_000, 'the fast subscriber');
            expect(live.received.map((r) => r.id)).toEqual(fastIds);
          }
        }
        // A paused socket never notices the relay closing it; reading again reveals whether it did.
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        stalled.resume();
        await eventually(() => cutOff, 10_000, 'the slow consumer to be disconnected');
        expect(live.received).toHaveLength(3);
      } finally {
        await live.close();
        stalled.destroy();
      }
    },
  );
});

describe('WebSocket maximum age', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay('embedded', { WS_MAX_AGE_SECONDS: '1' });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it(
    'closes old connections; the client re-proves and resumes without gap or duplicate',
    { timeout: 20_000 },
    async () => {
      const bob = makeAgent('bob');
      await register(relay.url, relay.relayId, bob);
      let proofs = 0;
      const { socket, client } = wsClient(relay.url, () => {
        proofs++;
        return authHeader(relay.relayId, bob, 'ws');
      });
      const received: string[] = [];
      const subscription = client.inbox.subscribe(
        {},
        { onData: (event) => received.push(event.id) },
      );
      try {
        const sent: string[] = [];
        for (let i = 0; i < 3; i++) {
          sent.push(
            (await rawClient(relay.url).send.mutate({ to: 'bob', ciphertext: sealTo(bob, i) })).id,
          );
          await new Promise((resolve) => setTimeout(resolve, 900));
        }
        await eventually(() => received.length === 3, 10_000, 'all messages');
        expect(received).toEqual(sent);
        expect(proofs).toBeGreaterThanOrEqual(2);
      } finally {
        subscription.unsubscribe();
        await socket.close();
      }
    },
  );
});

describe('slow WebSocket consumers', () => {
  it(
    'disconnects a slow WebSocket consumer (unsent backlog over the bound)',
    { timeout: 60_000 },
    async () => {
      // A relay of its own, so no other test's sockets come and go while this one counts.
      const relay = await startTestRelay('embedded', {}, { slowConsumerMs: 1_000 });
      const slow = makeAgent('slow');
      await register(relay.url, relay.relayId, slow);
      // A client whose socket stops reading once open: the relay's unsent bytes then pile up.
      class StalledWebSocket extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols);
          this.once('open', () => {
            setTimeout(() => {
              this.pause();
            }, 200);
          });
        }
      }
      const stalled = wsClient(
        relay.url,
        () => authHeader(relay.relayId, slow, 'ws'),
        StalledWebSocket,
      );
      const before = 0;
      stalled.client.inbox.subscribe({}, { onData: () => undefined, onError: () => undefined });
      try {
        await eventually(() => relay.webSockets() === before + 1, 10_000, 'the WebSocket');
        const client = rawClient(relay.url);
        const big = 'x'.repeat(800_000);
        for (let i = 0; i < 48 && relay.webSockets() > before; i++) {
          await client.send.mutate({ to: slow.agentId, ciphertext: sealTo(slow, `${big}${i}`) });
        }
        await eventually(
          () => relay.webSockets() === before,
          10_000,
          'the slow consumer to be cut off',
        );
      } finally {
        await stalled.socket.close();
        await relay.stop();
      }
    },
  );
});

describe('WebSocket upgrades', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay('embedded', { DEADDROP_ALLOWED_ORIGINS: 'https://app.example' });
  });
  afterAll(async () => {
    await relay.stop();
  });

  const upgrade = (path: string, origin?: string): Promise<number> =>
    new Promise((resolve) => {
      const socket = new WebSocket(
        `${relay.url.replace('http', 'ws')}${path}`,
        origin === undefined ? {} : { origin },
      );
      socket.once('open', () => {
        socket.close();
        resolve(101);
      });
      socket.once('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
      });
      socket.once('error', () => undefined);
    });

  it('accepts clients without an Origin, the relay’s own host and listed origins only', async () => {
    const { host } = new URL(relay.url);
    expect(await upgrade('/trpc')).toBe(101);
    expect(await upgrade('/trpc', `http://${host}`)).toBe(101);
    expect(await upgrade('/trpc', 'https://app.example')).toBe(101);
    expect(await upgrade('/trpc', 'https://evil.example')).toBe(403);
    expect(await upgrade('/elsewhere')).toBe(404);
  });
});
