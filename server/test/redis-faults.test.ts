// Redis SIGKILLed under a stream of sends (PROTOCOL §4): while it is away every call fails at once
// with 503 STORE_UNAVAILABLE (none hangs); when it comes back (same port and folder, AOF
// `appendfsync always`) the relay recovers by itself, every acknowledged send is stored exactly
// once, and a live subscriber (the SDK's inbox over SSE) open across the outage gets every message
// once, in order, with no gap. The test runs a redis-server process of its own.
// @module-tag slow (kills its redis-server): npm test only, not npm run test:fast
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { sealMessage, type AppRouter, type StoredMessage } from '@deaddrop/contract';
import {
  DeadDropClient,
  createIdentity,
  type LiveConnectionEvent,
} from '../../client/src/index.js';
import { startRedisServer } from '@deaddrop/test-support/redis-server';
import { startTcpProxy } from '@deaddrop/test-support/tcp-proxy';
import { OFFLINE_QUEUE_GRACE_MS } from '../src/store/redis/offline-queue-bound.js';
import { eventually } from './support/live-clients.js';
import {
  makeAgent,
  mailboxClient,
  rawClient,
  register,
  startTestRelay,
} from './support/relay-harness.js';

const WORKERS = 4;
const ACKS_BEFORE_KILL = 60;
/** Longer than the offline queue's grace, so the outage is also met by refusals made at once. */
const OUTAGE_MS = 3_000;
const ACKS_AFTER_RESTART = 60;
/** No request may take longer than this; one that does counts as hung. */
const REQUEST_BOUND_MS = 5_000;
/** A request made well after the grace is refused at once (≈ 10 ms here; generous for load). */
const FAST_REFUSAL_MS = 500;
const MAX_SENDS = 3_000;
const PHASE_BOUND_MS = 20_000;

type Outcome = { readonly n: number; readonly startedAt: number; readonly ms: number } & (
  | { readonly kind: 'acked'; readonly id: string }
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string }
  | { readonly kind: 'broken'; readonly error: string }
);

function errorDetail(error: unknown): { status: number; reason: string } | null {
  if (!(error instanceof TRPCClientError)) return null;
  const data = (error as TRPCClientError<AppRouter>).data;
  if (data === undefined || data === null) return null;
  return { status: data.httpStatus, reason: data.reason };
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Redis SIGKILLed under load', () => {
  it(
    'refuses at once while Redis is away, recovers by itself, loses and repeats nothing acknowledged',
    { timeout: 120_000 },
    async () => {
      const redis = await startRedisServer();
      const scratch = await mkdtemp(join(tmpdir(), 'deaddrop-redis-faults-'));
      const relay = await startTestRelay('redis', { REDIS_URL: redis.url });
      // The subscriber talks through a proxy, so its connection alone can be cut during the outage.
      const proxy = await startTcpProxy(relay.url);
      const abort = new AbortController();
      let subscription: ReturnType<DeadDropClient['subscribe']> | undefined;
      try {
        const sender = makeAgent('sender');
        await register(relay.url, relay.relayId, sender);
        const identity = await createIdentity('bob', {
          home: join(scratch, 'bob'),
          relayUrl: proxy.url,
        });
        const bob = new DeadDropClient({ identity });
        await bob.register();

        const received: string[] = [];
        const events: LiveConnectionEvent[] = [];
        const subscriptionErrors: unknown[] = [];
        subscription = bob.subscribe({
          transport: 'sse',
          signal: abort.signal,
          onMessage: (entry) => {
            received.push(entry.id);
          },
          onConnection: (event) => events.push(event),
          onError: (error) => subscriptionErrors.push(error),
        });
        await eventually(
          () => events.some((event) => event.state === 'connected'),
          10_000,
          'the subscriber to connect',
        );

        const ciphertexts = new Map<string, number>();
        const seal = (n: number): string => {
          const { ciphertext } = sealMessage({
            from: 'sender',
            sender: sender.keys,
            to: 'bob',
            recipient: identity.keys,
            body: n,
          });
          ciphertexts.set(ciphertext, n);
          return ciphertext;
        };

        const client = rawClient(relay.url);
        const outcomes: Outcome[] = [];
        let next = 0;
        let stop = false;
        const acked = (): number => outcomes.filter((o) => o.kind === 'acked').length;
        const worker = async (): Promise<void> => {
          while (!stop && next < MAX_SENDS) {
            const n = next++;
            const startedAt = Date.now();
            const input = {
              to: 'bob',
              ciphertext: seal(n),
              idempotencyKey: `redis-faults-send-${String(n).padStart(6, '0')}`,
            };
            try {
              const { id } = await client.send.mutate(input, {
                signal: AbortSignal.timeout(REQUEST_BOUND_MS),
              });
              outcomes.push({ n, startedAt, ms: Date.now() - startedAt, kind: 'acked', id });
            } catch (error) {
              const ms = Date.now() - startedAt;
              const detail = errorDetail(error);
              outcomes.push(
                detail === null
                  ? { n, startedAt, ms, kind: 'broken', error: String(error) }
                  : { n, startedAt, ms, kind: 'refused', ...detail },
              );
              // Refusals come at once: pace the retries of this loop.
              await sleep(20);
            }
          }
        };
        const workers = Promise.all(Array.from({ length: WORKERS }, worker));

        try {
          await eventually(
            () => acked() >= ACKS_BEFORE_KILL,
            PHASE_BOUND_MS,
            'sends before the kill',
          ).catch((error: unknown) => {
            throw new Error(`${String(error)}; last outcome ${JSON.stringify(outcomes.at(-1))}`);
          });
          const killedAt = Date.now();
          await redis.kill('SIGKILL');
          await sleep(OUTAGE_MS / 2);
          // The subscriber reconnects while Redis is away: refused (503) until it is back.
          proxy.dropAll();
          await sleep(OUTAGE_MS / 2);
          const restartedAt = Date.now();
          await redis.restart();
          const ackedBeforeRestart = acked();
          await eventually(
            () => acked() >= ackedBeforeRestart + ACKS_AFTER_RESTART,
            PHASE_BOUND_MS,
            'sends after Redis came back',
          );
          stop = true;
          await workers;

          // Nothing hung, and every failure was the catalogue's 503.
          const failures = outcomes.filter((o) => o.kind !== 'acked');
          expect(failures.length).toBeGreaterThan(0);
          expect(failures.filter((o) => o.kind === 'broken')).toEqual([]);
          expect(
            failures.filter(
              (o) => o.kind === 'refused' && (o.status !== 503 || o.reason !== 'STORE_UNAVAILABLE'),
            ),
          ).toEqual([]);
          expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(REQUEST_BOUND_MS);
          // Past the grace, while Redis was down, refusals came at once.
          const lateInOutage = failures.filter(
            (o) =>
              o.startedAt > killedAt + OFFLINE_QUEUE_GRACE_MS + 500 && o.startedAt < restartedAt,
          );
          expect(lateInOutage.length).toBeGreaterThan(0);
          expect(lateInOutage.filter((o) => o.ms > FAST_REFUSAL_MS)).toEqual([]);
          // Recovered without a restart of the relay: acknowledged sends made after Redis returned.
          expect(
            outcomes.filter((o) => o.kind === 'acked' && o.startedAt > restartedAt).length,
          ).toBeGreaterThanOrEqual(ACKS_AFTER_RESTART);

          // The mailbox: every acknowledged send exactly once under its id, nothing else repeated.
          const stored: StoredMessage[] = [];
          const bobAgent = { agentId: 'bob', keys: identity.keys };
          let after = '0-0';
          for (let page = 0; page < 100; page++) {
            const { messages, cursor } = await mailboxClient(
              relay.url,
              relay.relayId,
              bobAgent,
              'poll',
            ).poll.query({ after, limit: 100 });
            stored.push(...messages);
            if (messages.length === 0) break;
            after = cursor;
          }
          const storedSends = stored.map((message) => ciphertexts.get(message.ciphertext));
          expect(storedSends.filter((n) => n === undefined)).toEqual([]);
          expect(new Set(storedSends).size).toBe(stored.length);
          const storedIdOf = new Map(stored.map((message, i) => [storedSends[i], message.id]));
          const ackedSends = outcomes.flatMap((o) => (o.kind === 'acked' ? [o] : []));
          expect(ackedSends.filter((o) => storedIdOf.get(o.n) !== o.id).map((o) => o.n)).toEqual(
            [],
          );

          // The live subscriber: everything stored, once, in order, with no gap.
          await eventually(
            () => received.length >= stored.length || subscriptionErrors.length > 0,
            30_000,
            'the subscriber to catch up',
          );
          await sleep(300);
          expect(subscriptionErrors).toEqual([]);
          expect(received).toEqual(stored.map((message) => message.id));
          // It was cut off during the outage and refused (503) until Redis was back.
          const reconnectReasons = events.flatMap((event) =>
            event.state === 'reconnecting' ? [event.error.reason] : [],
          );
          expect(reconnectReasons).toContain('STORE_UNAVAILABLE');
        } finally {
          stop = true;
          await workers;
        }
      } finally {
        abort.abort();
        await subscription?.closed.catch(() => undefined);
        await proxy.close();
        await relay.stop();
        await redis.stop();
        await rm(scratch, { recursive: true, force: true });
      }
    },
  );
});
