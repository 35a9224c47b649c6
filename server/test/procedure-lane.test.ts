// The procedure lane (server/src/http/procedure-lane.ts) must be indistinguishable from tRPC's own
// adapter: the same requests go to a relay with the lane and to one without it, and every answer —
// status, content type, body — must match: sends, polls and stats, batches, and every failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, sealMessage, toB64u } from '@deaddrop/contract';
import {
  authHeader,
  makeAgent,
  register,
  startTestRelay,
  type TestAgent,
  type TestRelay,
} from './support/relay-harness.js';

interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly vary: string | null;
  readonly body: unknown;
  /** The lane answers with a declared length; tRPC's adapter streams its body (chunked). */
  readonly chunked: boolean;
}

interface Variant {
  readonly name: string;
  readonly method?: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** Headers made for each relay (proofs are bound to a relay id and used once). */
  readonly signed?: (relay: TestRelay) => Record<string, string>;
  /** Whether the lane (rather than tRPC) is expected to serve this request. */
  readonly lane: boolean;
  /**
   * Refused before anything of it is read (rate limits, access key): both relays answer from the
   * relay's own admission check, not from tRPC's adapter.
   */
  readonly early?: boolean;
}

const alice = makeAgent('alice');
const bob = makeAgent('bob');
const full = makeAgent('full');
const ENV = { MAX_MESSAGE_SIZE: '4169', STREAM_MAX_LEN: '2', DEADDROP_API_KEYS: 'k1' };
const KEY = { 'x-deaddrop-api-key': 'k1' };

function seal(to: TestAgent, body = 'hello'): string {
  return sealMessage({
    from: 'alice',
    sender: alice.keys,
    to: to.agentId,
    recipient: to.keys,
    body,
  }).ciphertext;
}

/** Ids and times differ between two relays; their presence and type must not. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => {
      if (key === 'id' && typeof inner === 'string') return [key, '<id>'];
      if (['cursor', 'oldestId', 'newestId', 'relayId'].includes(key) && typeof inner === 'string')
        return [key, '<id>'];
      if ((key === 'receivedAt' || key === 'expiresAt') && typeof inner === 'number')
        return [key, '<time>'];
      return [key, normalise(inner)];
    }),
  );
}

async function post(relay: TestRelay, variant: Variant): Promise<Answer> {
  const method = variant.method ?? 'POST';
  const response = await fetch(`${relay.url}${variant.path}`, {
    method,
    headers: {
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      ...KEY,
      ...variant.headers,
      ...variant.signed?.(relay),
    },
    ...(method === 'POST' ? { body: variant.body ?? '' } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // a non-JSON answer is compared as text
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    vary: response.headers.get('vary'),
    body: normalise(body),
    chunked: response.headers.get('transfer-encoding') === 'chunked',
  };
}

describe('procedure lane', () => {
  let lane: TestRelay;
  let trpc: TestRelay;

  beforeAll(async () => {
    [lane, trpc] = await Promise.all([
      startTestRelay('embedded', ENV, { procedureLane: true }),
      startTestRelay('embedded', ENV, { procedureLane: false }),
    ]);
    for (const relay of [lane, trpc])
      for (const agent of [alice, bob, full]) await register(relay.url, relay.relayId, agent, KEY);
  });
  afterAll(async () => {
    await Promise.all([lane.stop(), trpc.stop()]);
  });

  const ciphertext = seal(bob);
  const idem = toB64u(randomBytes(16));
  const single = (input: unknown): string => JSON.stringify({ json: input });
  const batch = (...inputs: unknown[]): string =>
    JSON.stringify(Object.fromEntries(inputs.map((input, i) => [String(i), { json: input }])));
  const huge = toB64u(randomBytes(4170 + 100));

  const variants: Variant[] = [
    {
      name: 'a valid send',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext }),
      lane: true,
    },
    {
      name: 'a send with an idempotency key',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext, idempotencyKey: idem }),
      lane: true,
    },
    {
      name: 'the same send again (duplicate)',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext, idempotencyKey: idem }),
      lane: true,
    },
    {
      name: 'another message under that key (conflict)',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext: seal(bob, 'other'), idempotencyKey: idem }),
      lane: true,
    },
    {
      name: 'an unknown recipient',
      path: '/trpc/send',
      body: single({ to: 'nobody', ciphertext }),
      lane: true,
    },
    {
      name: 'a full mailbox (third send)',
      path: '/trpc/send,send,send?batch=1',
      body: batch(
        { to: 'full', ciphertext: seal(full) },
        { to: 'full', ciphertext: seal(full) },
        { to: 'full', ciphertext: seal(full) },
      ),
      lane: true,
    },
    {
      name: 'a too large ciphertext',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext: huge }),
      lane: true,
    },
    {
      name: 'a group send: stored, full, unknown and too large items',
      path: '/trpc/sendMany',
      body: single({
        items: [
          { to: 'bob', ciphertext },
          { to: 'full', ciphertext: seal(full) },
          { to: 'nobody', ciphertext },
          { to: 'alice', ciphertext: huge },
        ],
      }),
      lane: true,
    },
    {
      name: 'a group send naming a recipient twice',
      path: '/trpc/sendMany',
      body: single({
        items: [
          { to: 'bob', ciphertext },
          { to: 'bob', ciphertext },
        ],
      }),
      lane: true,
    },
    {
      name: 'a group send of no items',
      path: '/trpc/sendMany',
      body: single({ items: [] }),
      lane: true,
    },
    {
      name: 'a short ciphertext',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext: 'AA' }),
      lane: true,
    },
    {
      name: 'a ciphertext that is not base64url',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext: `${ciphertext.slice(1)}+` }),
      lane: true,
    },
    {
      name: 'an unknown field',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext, x: 1 }),
      lane: true,
    },
    {
      name: 'a bad agent id',
      path: '/trpc/send',
      body: single({ to: 'B O B', ciphertext }),
      lane: true,
    },
    { name: 'a number as input', path: '/trpc/send', body: single(5), lane: true },
    { name: 'an array body', path: '/trpc/send', body: '[1]', lane: true },
    { name: 'a body that is not JSON', path: '/trpc/send', body: '{bad', lane: true },
    { name: 'an empty body', path: '/trpc/send', body: '', lane: true },
    {
      name: 'a batch of valid sends',
      path: '/trpc/send,send?batch=1',
      body: batch({ to: 'bob', ciphertext }, { to: 'alice', ciphertext: seal(alice) }),
      lane: true,
    },
    {
      name: 'a batch with one failure (207)',
      path: '/trpc/send,send?batch=1',
      body: batch({ to: 'bob', ciphertext }, { to: 'nobody', ciphertext }),
      lane: true,
    },
    {
      name: 'a batch missing an input',
      path: '/trpc/send,send?batch=1',
      body: JSON.stringify({ 0: { json: { to: 'bob', ciphertext } } }),
      lane: true,
    },
    {
      name: 'a batch body that is an array',
      path: '/trpc/send,send?batch=1',
      body: '[1,2]',
      lane: true,
    },
    { name: 'a batch body that is not JSON', path: '/trpc/send?batch=1', body: '{', lane: true },
    {
      name: 'no api key',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext }),
      headers: { 'x-deaddrop-api-key': '' },
      lane: true,
      early: true,
    },
    {
      name: 'a wrong api key',
      path: '/trpc/send',
      body: single({ to: 'bob', ciphertext }),
      headers: { 'x-deaddrop-api-key': 'k2' },
      lane: true,
      early: true,
    },
    {
      name: 'a wrong api key on a body that is not even JSON',
      path: '/trpc/send',
      body: '{not json',
      headers: { 'x-deaddrop-api-key': 'k2' },
      lane: true,
      early: true,
    },
    {
      name: 'a send under a longer path (tRPC reads the last segment)',
      path: '/trpc/any/thing/send',
      body: single({ to: 'bob', ciphertext: seal(bob, 'longer path') }),
      lane: true,
    },
    {
      name: 'a register with a bad signature',
      path: '/trpc/directory.register',
      body: single({ agentId: 'zed', agentKey: 'ddk1_x', ts: 1, sig: 'x' }),
      lane: true,
    },
    {
      name: 'a mixed batch (left to tRPC)',
      path: '/trpc/send,info?batch=1',
      body: batch({ to: 'bob', ciphertext }, undefined),
      lane: false,
    },
    {
      name: 'a streaming batch (left to tRPC)',
      path: '/trpc/send?batch=1',
      body: batch({ to: 'bob', ciphertext }),
      headers: { 'trpc-accept': 'application/jsonl' },
      lane: false,
    },
    {
      name: 'another query (left to tRPC)',
      path: '/trpc/send?batch=1&x=1',
      body: batch({ to: 'bob', ciphertext }),
      lane: false,
    },
  ];

  const query = (input: unknown): string => encodeURIComponent(JSON.stringify(input));
  const signedFor =
    (scope: string, agent: TestAgent = bob) =>
    (relay: TestRelay) =>
      authHeader(relay.relayId, agent, scope);
  variants.push(
    {
      name: 'a poll',
      method: 'GET',
      path: `/trpc/poll?input=${query({ json: { limit: 10 } })}`,
      signed: signedFor('poll'),
      lane: true,
    },
    {
      name: 'a poll after the first message, one at a time',
      method: 'GET',
      path: `/trpc/poll?input=${query({ json: { limit: 1 } })}`,
      signed: signedFor('poll'),
      lane: true,
    },
    {
      name: 'a poll without input',
      method: 'GET',
      path: '/trpc/poll',
      signed: signedFor('poll', alice),
      lane: true,
    },
    { name: 'stats', method: 'GET', path: '/trpc/stats', signed: signedFor('stats'), lane: true },
    {
      name: 'a batch of poll and stats under one proof',
      method: 'GET',
      path: `/trpc/poll,stats?batch=1&input=${query({ 0: { json: { limit: 2 } } })}`,
      signed: signedFor('poll,stats'),
      lane: true,
    },
    {
      name: 'a long-poll that times out empty',
      method: 'GET',
      path: `/trpc/poll?input=${query({ json: { after: '99999999999999-0', waitMs: 150 } })}`,
      signed: signedFor('poll'),
      lane: true,
    },
    { name: 'a poll without a proof', method: 'GET', path: '/trpc/poll', lane: true },
    {
      name: 'stats under a proof for poll',
      method: 'GET',
      path: '/trpc/stats',
      signed: signedFor('poll'),
      lane: true,
    },
    {
      name: 'a poll with a bad limit',
      method: 'GET',
      path: `/trpc/poll?input=${query({ json: { limit: 0 } })}`,
      signed: signedFor('poll'),
      lane: true,
    },
    {
      name: 'a poll whose input is not JSON',
      method: 'GET',
      path: '/trpc/poll?input=%7Bnope',
      signed: signedFor('poll'),
      lane: true,
    },
    {
      name: 'a batch GET input that is an array',
      method: 'GET',
      path: `/trpc/poll?batch=1&input=${query([1])}`,
      signed: signedFor('poll'),
      lane: true,
    },
    {
      name: 'a GET with another parameter (left to tRPC)',
      method: 'GET',
      path: '/trpc/stats?x=1',
      signed: signedFor('stats'),
      lane: false,
    },
    {
      name: 'a poll sent as POST (left to tRPC)',
      path: '/trpc/poll',
      body: single({}),
      signed: signedFor('poll'),
      lane: false,
    },
    {
      name: 'a query batched with info',
      method: 'GET',
      path: '/trpc/stats,info?batch=1',
      signed: signedFor('stats'),
      lane: true,
    },
    { name: 'info', method: 'GET', path: '/trpc/info', lane: true },
    {
      name: 'a lookup of an unknown agent',
      method: 'GET',
      path: `/trpc/directory.lookup?input=${query({ json: { agentId: 'nobody' } })}`,
      lane: true,
    },
    {
      name: 'a lookup without the access key',
      method: 'GET',
      path: `/trpc/directory.lookup?input=${query({ json: { agentId: 'bob' } })}`,
      headers: { 'x-deaddrop-api-key': '' },
      lane: true,
      early: true,
    },
    {
      name: 'a delete without a proof',
      path: '/trpc/delete',
      body: single({ ids: ['1-0'] }),
      lane: true,
    },
    {
      name: 'an inbox request as a batch (left to tRPC)',
      method: 'GET',
      path: '/trpc/inbox?batch=1',
      signed: signedFor('inbox'),
      lane: false,
    },
  );

  it.each(variants)('answers $name exactly as tRPC does', async (variant) => {
    // In order: the idempotency and quota variants depend on what came before, on both relays.
    const [fromLane, fromTrpc] = [await post(lane, variant), await post(trpc, variant)];
    const { chunked: laneChunked, ...laneAnswer } = fromLane;
    const { chunked: trpcChunked, ...trpcAnswer } = fromTrpc;
    expect(laneAnswer).toEqual(trpcAnswer);
    expect(trpcChunked).toBe(variant.early !== true);
    expect(laneChunked).toBe(!variant.lane && variant.early !== true);
  });

  it('stores what it acknowledges, under the id it answered', async () => {
    const sealed = seal(alice, 'through the lane');
    const response = await fetch(`${lane.url}/trpc/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...KEY },
      body: single({ to: 'alice', ciphertext: sealed }),
    });
    const answer = (await response.json()) as { result: { data: { json: { id: string } } } };
    const stored = await lane.services.store.read('alice', '0-0', 100);
    expect(stored.find((m) => m.id === answer.result.data.json.id)?.ciphertext).toBe(sealed);
  });
});
