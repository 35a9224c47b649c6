// The operator's view of a real relay on loopback: liveness and readiness probes (store outage,
// shutdown), Prometheus metrics after real calls on every transport, the metrics token, and logs
// that keep every secret out while an internal failure's detail stays in the log, not the response.
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startTcpProxy } from '@deaddrop/test-support/tcp-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveAgentKeys,
  generateSeed,
  randomBytes,
  relayErrors,
  toB64u,
  type AgentKeys,
} from '@deaddrop/contract';
import { loadRelayConfig } from '../src/env.js';
import { createLogger, silentLogger } from '../src/log.js';
import { startRelay, type RunningRelay, type StartRelayOptions } from '../src/relay.js';
import { createMailboxStore } from '../src/store/create-store.js';
import { RedisMailboxStore } from '../src/store/redis/redis-mailbox-store.js';
import { eventually, subscribeInbox } from './support/live-clients.js';
import {
  authHeader,
  rawBatchClient,
  rawClient,
  register,
  rejection,
  seal,
  startTestRelay,
  type TestAgent,
} from './support/relay-harness.js';

interface Relay {
  readonly relay: RunningRelay;
  readonly url: string;
  readonly relayId: string;
  stop(): Promise<void>;
}

/** A relay on the embedded store, with what startRelay accepts (a logger, a store) chosen here. */
async function startOwnRelay(
  env: Record<string, string> = {},
  options: StartRelayOptions = {},
  dataDir = mkdtempSync(join(tmpdir(), 'deaddrop-ops-')),
): Promise<Relay> {
  const config = loadRelayConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DEADDROP_DATA_DIR: dataDir,
    ...env,
  });
  const relay = await startRelay(config, { log: silentLogger, ...options });
  return {
    relay,
    url: relay.url,
    relayId: relay.services.relayId,
    stop: async () => {
      await relay.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An agent whose seed the test keeps, to look for it in the log. */
function seededAgent(agentId: string): TestAgent & { readonly seed: Uint8Array } {
  const seed = generateSeed();
  const keys: AgentKeys = deriveAgentKeys(seed);
  return { agentId, keys, seed };
}

async function getJson(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const body: unknown = await response.json();
  return { status: response.status, body };
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Prometheus text format, the lines that carry a value. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1] ?? ''] = pair[2] ?? '';
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`, { headers });
  expect(response.status).toBe(200);
  return parseMetrics(await response.text());
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
function valueOf(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.find(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  )?.value;
}

/** Waits until a scrape satisfies `check`. */
async function scrapeUntil(url: string, check: (samples: Sample[]) => boolean): Promise<Sample[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const samples = await scrape(url);
    if (check(samples)) return samples;
    if (Date.now() > deadline) throw new Error('metrics never reached the expected state');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A private key's raw bytes as b64u (JWK's `d`). */
function privateKeyText(key: KeyObject): string {
  return String(key.export({ format: 'jwk' }).d);
}

/** Every key named `stack` anywhere in a JSON value. */
function hasStack(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasStack);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, inner]) => key === 'stack' || hasStack(inner));
}

describe('probes', () => {
  it('/healthz and /readyz answer 200 on both stores', async () => {
    for (const kind of ['embedded', 'redis'] as const) {
      const relay = await startTestRelay(kind);
      try {
        expect(await getJson(`${relay.url}/healthz`)).toEqual({ status: 200, body: { ok: true } });
        expect(await getJson(`${relay.url}/readyz`)).toEqual({ status: 200, body: { ok: true } });
      } finally {
        await relay.stop();
      }
    }
  });

  it('/readyz answers 503 once the store is closed, while /healthz stays 200', async () => {
    const relay = await startTestRelay('embedded');
    try {
      await relay.services.store.close();
      expect(await getJson(`${relay.url}/readyz`)).toEqual({
        status: 503,
        body: { ok: false, reason: 'store unavailable' },
      });
      expect(await getJson(`${relay.url}/healthz`)).toEqual({ status: 200, body: { ok: true } });
    } finally {
      await relay.stop();
    }
  });

  it('/readyz answers 503 within about a second once Redis cannot be reached', async () => {
    // Redis behind a proxy the test closes after the start: a relay that cannot reach its store at
    // start refuses to start (relay-edges.test.ts), one that loses it later says so on /readyz.
    const proxy = await startTcpProxy(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    const store = RedisMailboxStore.connect(proxy.url, { ttlSeconds: 60, maxMessages: 10 });
    const relay = await startOwnRelay({ DEADDROP_RELAY_ID: 'relay-unreachable' }, { store });
    try {
      await proxy.close();
      const started = Date.now();
      expect(await getJson(`${relay.url}/readyz`)).toEqual({
        status: 503,
        body: { ok: false, reason: 'store unavailable' },
      });
      expect(Date.now() - started).toBeLessThan(2_000);
      // The failed ping is a store error (it may fail after the probe gave up on it).
      await scrapeUntil(
        relay.url,
        (s) => (valueOf(s, 'deaddrop_store_errors_total', { kind: 'unavailable' }) ?? 0) >= 1,
      );
    } finally {
      await relay.stop();
    }
  });

  it('/readyz answers 503 "shutting down" through the shutdown grace, while calls are served', async () => {
    const relay = await startTestRelay('embedded', { SHUTDOWN_GRACE_MS: '1500' });
    expect((await getJson(`${relay.url}/readyz`)).status).toBe(200);
    const closing = relay.stop();
    try {
      expect(await getJson(`${relay.url}/readyz`)).toEqual({
        status: 503,
        body: { ok: false, reason: 'shutting down' },
      });
      expect((await getJson(`${relay.url}/trpc/info`)).status).toBe(200);
    } finally {
      await closing;
    }
    // Then no new connections.
    await expect(fetch(`${relay.url}/healthz`)).rejects.toThrow();
  });
});

describe('metrics', () => {
  let relay: Relay;
  const alice = seededAgent('alice');
  const bob = seededAgent('bob');

  beforeAll(async () => {
    relay = await startOwnRelay({ MAX_WAIT_MS: '10000' });
    for (const agent of [alice, bob]) await register(relay.url, relay.relayId, agent);
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('counts calls by procedure and code, messages stored and delivered, live subscribers', async () => {
    const client = rawClient(relay.url);
    await client.info.query();
    for (const body of ['one', 'two'])
      await client.send.mutate({ to: 'bob', ciphertext: seal(alice, bob, body) });
    const refused = await rejection(
      client.send.mutate({ to: 'nobody', ciphertext: seal(alice, bob, 'lost') }),
    );
    expect(refused.code).toBe('NOT_FOUND');

    const bobPolls = rawClient(relay.url, () => authHeader(relay.relayId, bob, 'poll'));
    const first = await bobPolls.poll.query({ limit: 10 });
    expect(first.messages).toHaveLength(2);

    // A long-poll is a live subscriber while it waits, and delivers what arrives.
    const waiting = bobPolls.poll.query({ after: first.cursor, limit: 10, waitMs: 8_000 });
    await scrapeUntil(
      relay.url,
      (s) => valueOf(s, 'deaddrop_live_subscribers', { transport: 'long-poll' }) === 1,
    );
    await client.send.mutate({ to: 'bob', ciphertext: seal(alice, bob, 'three') });
    expect((await waiting).messages).toHaveLength(1);

    // One subscriber on each live transport.
    const sse = subscribeInbox('sse', relay.url, relay.relayId, alice);
    const ws = subscribeInbox('ws', relay.url, relay.relayId, bob, { after: '0-0' });
    try {
      await scrapeUntil(
        relay.url,
        (s) =>
          valueOf(s, 'deaddrop_live_subscribers', { transport: 'sse' }) === 1 &&
          valueOf(s, 'deaddrop_live_subscribers', { transport: 'websocket' }) === 1,
      );
      await client.send.mutate({ to: 'alice', ciphertext: seal(bob, alice, 'four') });
      await eventually(() => sse.received.length === 1 && ws.received.length === 3);
    } finally {
      await sse.close();
      await ws.close();
    }

    const samples = await scrapeUntil(
      relay.url,
      (s) =>
        valueOf(s, 'deaddrop_live_subscribers', { transport: 'sse' }) === 0 &&
        valueOf(s, 'deaddrop_live_subscribers', { transport: 'websocket' }) === 0,
    );
    const requests = (procedure: string, code: string) =>
      valueOf(samples, 'deaddrop_requests_total', { procedure, code });
    expect(requests('info', 'OK')).toBe(1);
    expect(requests('directory.register', 'OK')).toBe(2);
    expect(requests('send', 'OK')).toBe(4);
    expect(requests('send', 'NOT_FOUND')).toBe(1);
    expect(requests('poll', 'OK')).toBe(2);
    // Over WebSocket through the router's middleware, over SSE recorded by the SSE inbox itself.
    expect(requests('inbox', 'OK')).toBe(2);
    expect(valueOf(samples, 'deaddrop_request_duration_seconds_count', { procedure: 'poll' })).toBe(
      2,
    );
    expect(
      valueOf(samples, 'deaddrop_request_duration_seconds_bucket', {
        procedure: 'send',
        le: '+Inf',
      }),
    ).toBe(5);
    // The long-poll waited for the third message: its duration is in the sum.
    expect(
      valueOf(samples, 'deaddrop_request_duration_seconds_sum', { procedure: 'poll' }),
    ).toBeGreaterThan(0);
    expect(valueOf(samples, 'deaddrop_messages_stored_total')).toBe(4);
    expect(valueOf(samples, 'deaddrop_messages_delivered_total', { via: 'poll' })).toBe(3);
    expect(valueOf(samples, 'deaddrop_messages_delivered_total', { via: 'live' })).toBe(4);
    expect(valueOf(samples, 'deaddrop_live_subscribers', { transport: 'long-poll' })).toBe(0);
    expect(valueOf(samples, 'deaddrop_store_errors_total', { kind: 'unavailable' })).toBe(0);
    expect(valueOf(samples, 'deaddrop_store_errors_total', { kind: 'internal' })).toBe(0);
    // Node's default process metrics, from this relay's own registry.
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('counts a store outage as a 503 and an unavailable store error', async () => {
    const other = await startTestRelay('embedded');
    try {
      await other.services.store.close();
      const refused = await rejection(
        rawClient(other.url).send.mutate({ to: 'bob', ciphertext: seal(alice, bob, 'x') }),
      );
      expect(refused.code).toBe('SERVICE_UNAVAILABLE');
      const samples = await scrape(other.url);
      expect(
        valueOf(samples, 'deaddrop_requests_total', {
          procedure: 'send',
          code: 'SERVICE_UNAVAILABLE',
        }),
      ).toBe(1);
      expect(
        valueOf(samples, 'deaddrop_store_errors_total', { kind: 'unavailable' }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await other.stop();
    }
  });

  it('requires the bearer token when DEADDROP_METRICS_TOKEN is set', async () => {
    const token = 'metrics-token-0123456789';
    const guarded = await startOwnRelay({ DEADDROP_METRICS_TOKEN: token });
    try {
      const refused: Record<string, string>[] = [
        {},
        { authorization: 'Bearer wrong-token' },
        { authorization: token },
        { authorization: `Basic ${token}` },
      ];
      for (const headers of refused) {
        const response = await fetch(`${guarded.url}/metrics`, { headers });
        expect(response.status).toBe(401);
        expect(await response.text()).not.toContain('deaddrop_');
      }
      const response = await fetch(`${guarded.url}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toContain('deaddrop_requests_total');
    } finally {
      await guarded.stop();
    }
  });
});

describe('parser failures', () => {
  it('answer a generic message and leave the parser’s words in the debug log', async () => {
    const chunks: string[] = [];
    const output = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    const relay = await startOwnRelay({}, { log: createLogger(output, { level: 'debug' }) });
    try {
      // One through the procedure lane (send), one through tRPC's adapter (directory.lookup).
      const answers = [
        await fetch(`${relay.url}/trpc/send`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{bad',
        }),
        await fetch(`${relay.url}/trpc/directory.lookup?input=${encodeURIComponent('{"json":')}`),
      ];
      for (const answer of answers) {
        expect(answer.status).toBe(400);
        expect(await answer.text()).not.toMatch(/at position|Unexpected|Expected|end of JSON/);
      }
      const refusals = chunks
        .join('')
        .split('\n')
        .filter((line) => line.includes('call refused'))
        .map((line) => JSON.parse(line) as { level: string; error: string });
      expect(refusals).toHaveLength(2);
      for (const refusal of refusals) {
        expect(refusal.level).toBe('debug');
        expect(refusal.error).toMatch(/at position|Unexpected|Expected|end of JSON/);
      }
    } finally {
      await relay.stop();
    }
  });
});

describe('logs and error responses', () => {
  const DETAIL = 'SQLITE_IOERR: disk I/O error at /var/lib/deaddrop/private/relay.db';
  const chunks: string[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'deaddrop-ops-'));
  let relay: Relay;
  const alice = seededAgent('alice');
  const bob = seededAgent('bob');

  beforeAll(async () => {
    const store = await createMailboxStore({ dataDir, ttlSeconds: 86_400, maxMessages: 100 });
    // The internal failure: a store fault that is not an outage, with an internal path in it.
    store.counts = () => Promise.reject(new Error(DETAIL));
    relay = await startOwnRelay({}, { store, log: createLogger(output) }, dataDir);
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('never logs ciphertext, proofs, agent keys or seeds; an internal failure is a bare 500', async () => {
    const secrets: string[] = [];
    for (const agent of [alice, bob]) {
      await register(relay.url, relay.relayId, agent);
      secrets.push(
        agent.keys.agentKey,
        toB64u(agent.seed),
        Buffer.from(agent.seed).toString('hex'),
        privateKeyText(agent.keys.signing.privateKey),
        privateKeyText(agent.keys.box.privateKey),
      );
    }
    const sender = rawClient(relay.url);
    for (const body of ['first secret', 'second secret']) {
      const ciphertext = seal(alice, bob, body);
      secrets.push(ciphertext);
      await sender.send.mutate({ to: 'bob', ciphertext, idempotencyKey: toB64u(randomBytes(16)) });
    }
    const lost = seal(alice, bob, 'to nobody');
    secrets.push(lost);
    await rejection(sender.send.mutate({ to: 'nobody', ciphertext: lost }));

    const proof = (scope: string): Record<string, string> => {
      const headers = authHeader(relay.relayId, bob, scope);
      secrets.push(headers.authorization ?? '');
      return headers;
    };
    const polls = rawClient(relay.url, () => proof('poll'));
    expect((await polls.poll.query({ limit: 10 })).messages).toHaveLength(2);
    expect((await polls.poll.query({ limit: 10, waitMs: 50 })).messages).toHaveLength(2);
    // A replayed proof and a batch, refused or not, carry proofs too.
    const replayed = proof('poll');
    const again = rawClient(relay.url, () => replayed);
    await again.poll.query({ limit: 1 });
    expect((await rejection(again.poll.query({ limit: 1 }))).code).toBe('UNAUTHORIZED');
    const batch = rawBatchClient(relay.url, () => proof('poll,poll'));
    await Promise.all([batch.poll.query({ limit: 1 }), batch.poll.query({ limit: 1 })]);

    // The internal failure, on the procedure lane and through tRPC's adapter (a mixed batch).
    const lane = await getJson(`${relay.url}/trpc/stats`, proof('stats'));
    expect(lane.status).toBe(500);
    const adapter = await getJson(`${relay.url}/trpc/info,stats?batch=1`, proof('info,stats'));
    expect(adapter.status).toBe(207);
    const adapterError = Array.isArray(adapter.body) ? (adapter.body[1] as unknown) : undefined;
    for (const body of [lane.body, adapterError]) {
      expect(body).toMatchObject({
        error: {
          json: {
            message: relayErrors.INTERNAL.message,
            data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, reason: 'INTERNAL' },
          },
        },
      });
      expect(hasStack(body)).toBe(false);
      const text = JSON.stringify(body);
      for (const leak of ['SQLITE', '/var/lib', 'relay.db', '.ts:', 'node_modules'])
        expect(text).not.toContain(leak);
    }

    const log = chunks.join('');
    const lines = log
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // The detail is the operator's, in the log: once per failed call.
    const failures = lines.filter((line) => line.level === 'error' && line.error === DETAIL);
    expect(failures.map((line) => line.path)).toEqual(['stats', 'stats']);
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      expect(log).not.toContain(secret);
    }
    // A proof is `DeadDrop <b64u>`: not even its encoded part on its own.
    for (const secret of secrets.filter((value) => value.startsWith('DeadDrop ')))
      expect(log).not.toContain(secret.slice('DeadDrop '.length));
  });
});
