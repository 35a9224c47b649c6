// Graceful shutdown of a relay process on SIGTERM, on both stores: new connections are refused at
// once, sends in flight are answered 200 and stored, a waiting long-poll is answered 200 with no
// messages, SSE streams end cleanly, WebSocket clients get tRPC's reconnect notice, and the process
// exits with code 0 within a few seconds.
// @module-tag slow (stops relay processes): npm test only, not npm run test:fast
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { JsonValue, SendResult } from '@deaddrop/contract';
import { startRedisServer } from '@deaddrop/test-support/redis-server';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { eventually } from './support/live-clients.js';
import {
  authHeader,
  makeAgent,
  mailboxClient,
  rawClient,
  register,
  seal,
  type StoreKind,
  type TestAgent,
} from './support/relay-harness.js';

const SENDS_IN_FLIGHT = 3;
/** Long-polls and SSE streams must be answered or ended this soon after SIGTERM. */
const PROMPT_MS = 1_500;
/** The process must have exited (code 0) this soon after SIGTERM. */
const EXIT_MS = 5_000;

const sender = makeAgent('sender');

/** A real envelope from `sender` (the relay checks only its shape and size). */
function sealTo(to: TestAgent, body: JsonValue = 'hi'): string {
  return seal(sender, to, body);
}

interface HeldSend {
  /** Sends the rest of the body; resolves with the relay's answer. */
  finish(): Promise<{ status: number; result: SendResult }>;
}

/**
 * A `send` the relay has begun to receive but cannot answer yet: the request head and half of its
 * body go out at once, the rest when `finish` is called. Certainly in flight across a SIGTERM.
 */
async function holdSend(url: string, input: object): Promise<HeldSend> {
  const body = Buffer.from(JSON.stringify(superjson.serialize(input)));
  const half = Math.floor(body.length / 2);
  const req = request(`${url}/trpc/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': body.length },
  });
  const answer = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  // Awaited in finish(); a failure before that must not count as unhandled.
  answer.catch(() => undefined);
  req.write(body.subarray(0, half));
  // Time for the head and the first half to reach the relay (loopback).
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    finish: async () => {
      req.end(body.subarray(half));
      const response = await answer;
      let text = '';
      for await (const chunk of response) text += String(chunk);
      const parsed = JSON.parse(text) as {
        result: { data: Parameters<typeof superjson.deserialize>[0] };
      };
      return {
        status: response.statusCode ?? 0,
        result: superjson.deserialize<SendResult>(parsed.result.data),
      };
    },
  };
}

/** An SSE inbox stream read by hand, to see it end cleanly (not cut). */
async function openSse(url: string, relayId: string, agent: TestAgent) {
  const input = encodeURIComponent(JSON.stringify({ json: {} }));
  const response = await fetch(`${url}/trpc/inbox?input=${input}`, {
    headers: { ...authHeader(relayId, agent, 'inbox'), accept: 'text/event-stream' },
  });
  expect(response.status).toBe(200);
  const body = response.body;
  if (body === null) throw new Error('no SSE body');
  const state = { text: '', endedAt: 0, error: undefined as unknown };
  const decoder = new TextDecoder();
  const reading = (async () => {
    const reader = body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        state.text += decoder.decode(value, { stream: true });
      }
    } catch (error) {
      state.error = error;
    }
    state.endedAt = Date.now();
  })();
  return { state, reading };
}

/** Whether a new TCP connection to the relay's port is refused. */
function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'ECONNREFUSED');
    });
  });
}

function exitOf(relay: SpawnedRelay): Promise<number | string | null> {
  const { child } = relay;
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal);
    });
  });
}

async function storeFor(
  kind: StoreKind,
): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  if (kind === 'embedded') {
    const dir = await mkdtemp(join(tmpdir(), 'deaddrop-shutdown-'));
    return {
      env: { DEADDROP_DATA_DIR: dir },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const redis = await startRedisServer();
  return { env: { REDIS_URL: redis.url }, cleanup: () => redis.stop() };
}

describe.each<StoreKind>(['embedded', 'redis'])('relay SIGTERM (%s store)', (kind) => {
  it(
    'drains: refuses new connections, finishes sends, answers long-polls, ends streams, exits 0',
    { timeout: 60_000 },
    async () => {
      const store = await storeFor(kind);
      const env = { ...store.env };
      let relay: SpawnedRelay | undefined;
      try {
        relay = await spawnRelay(env);
        const { url } = relay;
        const relayId = (await rawClient(url).info.query()).relayId;
        const bob = makeAgent('bob');
        const carol = makeAgent('carol');
        await Promise.all([bob, carol, sender].map((agent) => register(url, relayId, agent)));

        // Live: an SSE stream for bob (proven live by a first message) and a WebSocket.
        const sse = await openSse(url, relayId, bob);
        const first = await rawClient(url).send.mutate({ to: 'bob', ciphertext: sealTo(bob, '1') });
        await eventually(() => sse.state.text.includes(`id: ${first.id}`), 10_000, 'live SSE');
        const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/trpc`);
        const socketMessages: string[] = [];
        let socketClosed = false;
        socket.on('message', (data: Buffer) => socketMessages.push(data.toString()));
        socket.once('close', () => {
          socketClosed = true;
        });
        await new Promise((resolve, reject) => {
          socket.once('open', resolve);
          socket.once('error', reject);
        });

        // A long-poll waiting on carol's empty mailbox, and sends half-received by the relay.
        const longPoll = mailboxClient(url, relayId, carol, 'poll')
          .poll.query({ waitMs: 25_000 })
          .then((result) => ({ result, at: Date.now() }));
        const held = await Promise.all(
          Array.from({ length: SENDS_IN_FLIGHT }, (_, i) =>
            holdSend(url, { to: 'bob', ciphertext: sealTo(bob, `in flight ${i}`) }),
          ),
        );

        const exited = exitOf(relay);
        const termAt = Date.now();
        relay.kill('SIGTERM');

        // Answered now, 200 with no messages, instead of being held for 25 s or cut.
        const polled = await longPoll;
        expect(polled.result.messages).toEqual([]);
        expect(polled.at - termAt).toBeLessThan(PROMPT_MS);
        // The SSE stream ended cleanly; the WebSocket got the reconnect notice and was closed.
        await sse.reading;
        expect(sse.state.error).toBeUndefined();
        expect(sse.state.endedAt - termAt).toBeLessThan(PROMPT_MS);
        await eventually(() => socketClosed, PROMPT_MS, 'the WebSocket to close');
        expect(socketMessages.map((text) => JSON.parse(text) as unknown)).toContainEqual({
          id: null,
          method: 'reconnect',
        });

        // Still draining (the sends hold it open), yet no new connection is accepted.
        expect(relay.child.exitCode).toBeNull();
        expect(await connectionRefused(url)).toBe(true);

        // The sends in flight — slow uploads, still going a second later — complete, acknowledged.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(relay.child.exitCode).toBeNull();
        const answers = await Promise.all(held.map((send) => send.finish()));
        expect(answers.map((answer) => answer.status)).toEqual(
          new Array<number>(SENDS_IN_FLIGHT).fill(200),
        );
        expect(await exited).toBe(0);
        expect(Date.now() - termAt).toBeLessThan(EXIT_MS);

        // And stored: a new relay on the same store has them.
        relay = await spawnRelay(env);
        const { messages } = await mailboxClient(relay.url, relayId, bob, 'poll').poll.query({
          limit: 100,
        });
        expect(messages.map((message) => message.id).sort()).toEqual(
          [first.id, ...answers.map((answer) => answer.result.id)].sort(),
        );
        socket.terminate();
      } finally {
        await relay?.stop();
        await store.cleanup();
      }
    },
  );
});
