// Rate limits over real HTTP on both stores: per-address calls (single and batched, on the
// procedure lane and on tRPC's adapter), subscriptions and registrations; per-mailbox and
// per-(address, mailbox) sends; 429 with `retryAfterMs` and `Retry-After`, and the reset after it.
import { TRPCClientError } from '@trpc/client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createProof,
  encodeAuthorization,
  signRegistration,
  type AppRouter,
} from '@deaddrop/contract';
import { eventually, subscribeInbox } from './support/live-clients.js';
import {
  makeAgent,
  register,
  seal,
  startTestRelay,
  type StoreKind,
  type TestAgent,
  type TestRelay,
} from './support/relay-harness.js';

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: {
    result?: unknown;
    error?: {
      json: { message: string; data: { code: string; reason: string; retryAfterMs?: number } };
    };
  };
}

/** One raw tRPC call (superjson wire format), so a test can set and read every header. */
async function call(
  relay: TestRelay,
  path: string,
  options: { input?: unknown; method?: 'GET' | 'POST'; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const method = options.method ?? (options.input === undefined ? 'GET' : 'POST');
  const wire = options.input === undefined ? undefined : JSON.stringify({ json: options.input });
  const query = method === 'GET' && wire !== undefined ? `?input=${encodeURIComponent(wire)}` : '';
  const response = await fetch(`${relay.url}/trpc/${path}${query}`, {
    method,
    headers: { 'content-type': 'application/json', ...options.headers },
    ...(method === 'POST' ? { body: wire } : {}),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Answer['body'],
  };
}

function expectLimited(answer: Answer, text: string): number {
  expect(answer.status).toBe(429);
  const error = answer.body.error?.json;
  expect(error?.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', reason: 'RATE_LIMITED' });
  expect(error?.message).toContain(text);
  const retryAfterMs = error?.data.retryAfterMs ?? 0;
  expect(retryAfterMs).toBeGreaterThan(0);
  expect(answer.retryAfter).toBe(String(Math.ceil(retryAfterMs / 1000)));
  return retryAfterMs;
}

function sealed(to: TestAgent): string {
  return seal(makeAgent('someone'), to);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe.each<StoreKind>(['embedded', 'redis'])('rate limits (%s store)', (kind) => {
  const relays: TestRelay[] = [];
  const start = async (env: Record<string, string>, procedureLane = true): Promise<TestRelay> => {
    const relay = await startTestRelay(kind, env, { procedureLane });
    relays.push(relay);
    return relay;
  };
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  });

  it('reports the configured limits in info', async () => {
    const relay = await start({
      RATE_REQUESTS_PER_SECOND: '7',
      RATE_MAILBOX_MESSAGES_PER_MINUTE: '9',
    });
    const info = await call(relay, 'info');
    expect(info.body.result).toMatchObject({
      data: {
        json: {
          rateLimits: {
            requestsPerSecond: 7,
            requestBurst: 7,
            subscriptionsPerMinute: 0,
            mailboxMessagesPerMinute: 9,
            senderMessagesPerMinute: 0,
            registrationsPerMinute: 0,
          },
        },
      },
    });
  });

  it.each([true, false])(
    'limits calls per address, batches counting every call, and resets (procedure lane: %s)',
    async (lane) => {
      // Four a second, bursts of four: a refused call waits about a quarter of a second.
      const relay = await start({ RATE_REQUESTS_PER_SECOND: '4', RATE_REQUEST_BURST: '4' }, lane);
      const bob = makeAgent('bob');
      // Registration is a call too: three left.
      await register(relay.url, relay.relayId, bob);
      expect((await call(relay, 'info')).status).toBe(200);
      const batch = await fetch(`${relay.url}/trpc/info,info?batch=1`);
      expect(batch.status).toBe(200);
      const wait = expectLimited(
        await call(relay, 'send', { input: { to: 'bob', ciphertext: sealed(bob) } }),
        '4 calls a second',
      );
      expect(wait).toBeLessThanOrEqual(250);
      expectLimited(await call(relay, 'info'), 'from one address');
      await sleep(wait + 30);
      expect(
        (await call(relay, 'send', { input: { to: 'bob', ciphertext: sealed(bob) } })).status,
      ).toBe(200);
    },
  );

  it('counts the address the trusted proxy saw, and only when told to trust one', async () => {
    const trusting = await start({
      RATE_REQUESTS_PER_SECOND: '1',
      RATE_REQUEST_BURST: '1',
      TRUST_PROXY_HOPS: '1',
    });
    const from = (address: string) => ({ 'x-forwarded-for': `10.9.9.9, ${address}` });
    expect((await call(trusting, 'info', { headers: from('192.0.2.1') })).status).toBe(200);
    expect((await call(trusting, 'info', { headers: from('192.0.2.2') })).status).toBe(200);
    expectLimited(await call(trusting, 'info', { headers: from('192.0.2.1') }), 'calls a second');

    // Without a trusted proxy the header is the client's to forge, so it changes nothing.
    const direct = await start({ RATE_REQUESTS_PER_SECOND: '1', RATE_REQUEST_BURST: '1' });
    expect((await call(direct, 'info', { headers: from('192.0.2.1') })).status).toBe(200);
    expectLimited(await call(direct, 'info', { headers: from('192.0.2.2') }), 'calls a second');
  });

  it('caps what one source and everyone together can send into one mailbox', async () => {
    const relay = await start({
      RATE_MAILBOX_MESSAGES_PER_MINUTE: '3',
      RATE_SENDER_MESSAGES_PER_MINUTE: '2',
      TRUST_PROXY_HOPS: '1',
    });
    const victim = makeAgent('victim');
    const bystander = makeAgent('bystander');
    await register(relay.url, relay.relayId, victim);
    await register(relay.url, relay.relayId, bystander);
    const send = (to: TestAgent, address: string) =>
      call(relay, 'send', {
        input: { to: to.agentId, ciphertext: sealed(to) },
        headers: { 'x-forwarded-for': address },
      });

    expect((await send(victim, '198.51.100.1')).status).toBe(200);
    expect((await send(victim, '198.51.100.1')).status).toBe(200);
    // One source cannot take the whole mailbox's minute…
    const wait = expectLimited(
      await send(victim, '198.51.100.1'),
      '2 messages a minute into one mailbox from one address',
    );
    expect(wait).toBeGreaterThan(25_000);
    // …others still get through, up to the mailbox's own cap,
    expect((await send(victim, '198.51.100.2')).status).toBe(200);
    expectLimited(await send(victim, '198.51.100.3'), '3 messages a minute into one mailbox');
    // …and other mailboxes are untouched.
    expect((await send(bystander, '198.51.100.1')).status).toBe(200);
  });

  it('throttles registrations per address', async () => {
    const relay = await start({ RATE_REGISTRATIONS_PER_MINUTE: '2' });
    for (const name of ['r1', 'r2']) await register(relay.url, relay.relayId, makeAgent(name));
    const third = makeAgent('r3');
    const answer = await call(relay, 'directory.register', {
      input: signRegistration({ relayId: relay.relayId, agentId: third.agentId, keys: third.keys }),
    });
    expectLimited(answer, '2 registrations a minute');
  });

  it('throttles new live subscriptions per address, before any stream starts', async () => {
    const relay = await start({ RATE_SUBSCRIPTIONS_PER_MINUTE: '2' });
    const carol = makeAgent('carol');
    await register(relay.url, relay.relayId, carol);
    const open = async (): Promise<Response> => {
      const proof = createProof({
        relayId: relay.relayId,
        agentId: 'carol',
        keys: carol.keys,
        scope: 'inbox',
      });
      const controller = new AbortController();
      const response = await fetch(
        `${relay.url}/trpc/inbox?input=${encodeURIComponent('{"json":{}}')}`,
        {
          headers: { accept: 'text/event-stream', authorization: encodeAuthorization(proof) },
          signal: controller.signal,
        },
      );
      if (response.status === 200) controller.abort();
      return response;
    };
    expect((await open()).status).toBe(200);
    expect((await open()).status).toBe(200);
    const refused = await open();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(20);
    const body = (await refused.json()) as Answer['body'];
    expect(body.error?.json.data.reason).toBe('RATE_LIMITED');
  });
  it('throttles WebSocket subscriptions too', async () => {
    const relay = await start({ RATE_SUBSCRIPTIONS_PER_MINUTE: '2' });
    const dora = makeAgent('dora');
    await register(relay.url, relay.relayId, dora);
    const live = subscribeInbox('ws', relay.url, relay.relayId, dora);
    const second = subscribeInbox('ws', relay.url, relay.relayId, dora);
    const third = subscribeInbox('ws', relay.url, relay.relayId, dora);
    try {
      await eventually(
        () => [live, second, third].some((sub) => sub.errors.length > 0),
        5_000,
        'a refused subscription',
      );
      const refused = [live, second, third].flatMap((sub) => sub.errors);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toBeInstanceOf(TRPCClientError);
      expect((refused[0] as TRPCClientError<AppRouter>).data).toMatchObject({
        code: 'TOO_MANY_REQUESTS',
        reason: 'RATE_LIMITED',
      });
    } finally {
      await Promise.all([live.close(), second.close(), third.close()]);
    }
  });
});
