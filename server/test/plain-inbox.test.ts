// The plain API's live inbox, `GET /v1/inbox` (PROTOCOL §3.8), on real relays and both stores:
// standard SSE whose events carry the message id as `id:` and the stored message — the very object
// `poll` answers — as `data:`; it resumes after `Last-Event-ID` (or `after`) with no gap and no
// duplicate; it is refused with a status and the plain error body before any stream starts; and it
// shares tRPC's SSE machinery: the live-connection cap, the stream count, the end on shutdown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPlainStream, type PlainStream } from './support/plain-sse.js';
import { plainCall } from './support/plain-http.js';
import {
  authHeader,
  makeAgent,
  register,
  seal,
  startTestRelay,
  type StoreKind,
  type TestAgent,
  type TestRelay,
} from './support/relay-harness.js';

interface Stored {
  readonly id: string;
}

describe.each<StoreKind>(['embedded', 'redis'])('the plain live inbox on the %s store', (kind) => {
  let relay: TestRelay;
  const alice = makeAgent('alice');
  const streams: PlainStream[] = [];

  const open = async (agent: TestAgent, query = '', headers: Record<string, string> = {}) => {
    const stream = await openPlainStream(
      relay.url,
      { ...authHeader(relay.relayId, agent, 'inbox'), ...headers },
      query,
    );
    streams.push(stream);
    return stream;
  };

  const send = async (to: TestAgent, body: string): Promise<string> => {
    const { outcome } = await plainCall(relay.url, 'send', {
      to: to.agentId,
      ciphertext: seal(alice, to, body),
    });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome));
    return (outcome.data as Stored).id;
  };

  /** Everything in the mailbox, as `poll` answers it. */
  const polled = async (agent: TestAgent): Promise<Stored[]> => {
    const { outcome } = await plainCall(
      relay.url,
      'poll',
      { limit: 100 },
      authHeader(relay.relayId, agent, 'poll'),
    );
    if (!outcome.ok) throw new Error(JSON.stringify(outcome));
    return (outcome.data as { messages: Stored[] }).messages;
  };

  const fresh = async (name: string): Promise<TestAgent> => {
    const agent = makeAgent(name);
    await register(relay.url, relay.relayId, agent);
    return agent;
  };

  beforeAll(async () => {
    relay = await startTestRelay(kind, { RATE_LIVE_CONNECTIONS_PER_ADDRESS: '3' });
    await register(relay.url, relay.relayId, alice);
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await relay.stop();
  });

  it('replays the mailbox, then delivers each new message live, as poll answers it', async () => {
    const bob = await fresh('bob');
    const before = [await send(bob, 'one'), await send(bob, 'two')];
    const stream = await open(bob);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
    await stream.received(2);
    const live = [await send(bob, 'three'), await send(bob, 'four')];
    const events = await stream.received(4);
    expect(events.map((event) => event.id)).toEqual([...before, ...live]);
    expect(events.every((event) => event.event === undefined)).toBe(true);
    expect(events.map((event) => JSON.parse(event.data) as unknown)).toEqual(await polled(bob));
    expect(stream.retry()).toBeGreaterThanOrEqual(500);
    expect(stream.comments.map((comment) => comment.trim())).toContain('connected');
    stream.close();
  });

  it('resumes after Last-Event-ID with no gap and no duplicate, and after `after` likewise', async () => {
    const carol = await fresh('carol');
    const sent = [await send(carol, '1'), await send(carol, '2'), await send(carol, '3')];
    const first = await open(carol);
    const seen = (await first.received(3)).map((event) => event.id ?? '');
    sent.push(await send(carol, '4'));
    seen.push((await first.received(4))[3]?.id ?? '');
    first.close();
    // Sent while no one listens.
    sent.push(await send(carol, '5'), await send(carol, '6'));
    const resumed = await open(carol, '?after=0-0', { 'last-event-id': seen.at(-1) ?? '' });
    const rest = await resumed.received(2);
    sent.push(await send(carol, '7'));
    const all = [...seen, ...rest.map((event) => event.id), (await resumed.received(3))[2]?.id];
    expect(all).toEqual(sent);
    // Nothing more came on the resumed stream: no duplicate after the new message.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(resumed.events).toHaveLength(3);
    resumed.close();
    const after = await open(carol, `?after=${encodeURIComponent(sent[4] ?? '')}`);
    expect((await after.received(2)).map((event) => event.id)).toEqual(sent.slice(5));
    after.close();
  });

  it('refuses before any stream starts, in the plain error shape', async () => {
    const dave = await fresh('dave');
    const refused = async (headers: Record<string, string>, query = '') => {
      const response = await fetch(`${relay.url}/v1/inbox${query}`, { headers });
      expect(response.headers.get('content-type')).toBe('application/json');
      return { status: response.status, body: await response.json() };
    };
    expect(await refused({})).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED', reason: 'AUTH_MISSING' } },
    });
    expect(await refused(authHeader(relay.relayId, dave, 'poll'))).toMatchObject({
      status: 401,
      body: { error: { reason: 'AUTH_WRONG_SCOPE' } },
    });
    expect(await refused(authHeader(relay.relayId, dave, 'inbox'), '?after=nope')).toMatchObject({
      status: 400,
      body: {
        error: { reason: 'BAD_INPUT', message: expect.stringContaining('after') as unknown },
      },
    });
    expect(
      await refused({ ...authHeader(relay.relayId, dave, 'inbox'), 'last-event-id': 'nope' }),
    ).toMatchObject({
      status: 400,
      body: {
        error: { reason: 'BAD_INPUT', message: expect.stringContaining('lastEventId') as unknown },
      },
    });
  });

  it('shares the live-connection cap and the stream count with tRPC’s SSE', async () => {
    const erin = await fresh('erin');
    // The streams of the tests before have let go of their slots.
    while (relay.sseStreams() > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const held = [await open(erin), await open(erin), await open(erin)];
    expect(held.map((stream) => stream.status)).toEqual([200, 200, 200]);
    expect(relay.sseStreams()).toBe(3);
    const over = await fetch(`${relay.url}/v1/inbox`, {
      headers: authHeader(relay.relayId, erin, 'inbox'),
    });
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ error: { reason: 'TOO_MANY_CONNECTIONS' } });
    const viaTrpc = await fetch(`${relay.url}/trpc/inbox`, {
      headers: authHeader(relay.relayId, erin, 'inbox'),
    });
    expect(viaTrpc.status).toBe(429);
    await viaTrpc.body?.cancel();
    for (const stream of held) stream.close();
  });

  it('ends every stream when the relay shuts down', async () => {
    const own = await startTestRelay(kind);
    try {
      const frank = makeAgent('frank');
      await register(own.url, own.relayId, frank);
      const stream = await openPlainStream(own.url, authHeader(own.relayId, frank, 'inbox'));
      streams.push(stream);
      expect(stream.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(own.sseStreams()).toBe(1);
      const closing = own.stop();
      await stream.ended;
      await closing;
    } finally {
      await own.stop();
    }
  });
});
