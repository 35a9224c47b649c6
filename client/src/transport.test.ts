import { describe, expect, it } from 'vitest';
import {
  decodeAuthorization,
  deriveAgentKeys,
  generateSeed,
  rateLimitsSchema,
  verifyProofSignature,
} from '@deaddrop/contract';
import { toDeadDropError } from './relay-error.js';
import { createRelayTransport, isLongPoll, isMailboxProcedure } from './transport.js';

const keys = deriveAgentKeys(generateSeed());
const relayId = 'relay-test';

interface Captured {
  readonly path: string;
  readonly headers: Headers;
  readonly batched: boolean;
}

const limits = {
  maxMessageBytes: 1024,
  ttlSeconds: 60,
  maxMessages: 10,
  authWindowSeconds: 60,
  maxWaitMs: 1000,
};

/** A valid answer per procedure (the transport checks every answer against the contract). */
const answers = new Map<string, unknown>([
  ['stats', { agentId: 'alice', count: 0, bytes: 0, oldestId: null, newestId: null, limits }],
  ['poll', { messages: [], cursor: '0-0' }],
  ['info', { relayId, version: '1', limits, rateLimits: sampleRateLimits() }],
  ['directory.lookup', { agentId: 'bob', agentKey: 'k', registeredAt: 1 }],
]);

function sampleRateLimits(): Record<string, number> {
  return Object.fromEntries(Object.keys(rateLimitsSchema.shape).map((name) => [name, 0]));
}

/** A fake relay that answers every call with a valid answer and records each HTTP request. */
function fakeRelay() {
  const requests: Captured[] = [];
  const fetchImpl = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const path = decodeURIComponent(url.pathname.replace(/^\/trpc\//, ''));
    requests.push({
      path,
      headers: new Headers(init?.headers),
      batched: url.searchParams.get('batch') === '1',
    });
    const result = (name: string) => ({ result: { data: { json: answers.get(name) ?? {} } } });
    const body = url.searchParams.get('batch') === '1' ? path.split(',').map(result) : result(path);
    return Promise.resolve(
      new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } }),
    );
  };
  return { requests, fetch: fetchImpl };
}

function transport(relay: ReturnType<typeof fakeRelay>, apiKey?: string) {
  return createRelayTransport({
    relayUrl: 'http://relay.test',
    apiKey,
    signer: { agentId: 'alice', keys },
    relayId: () => Promise.resolve(relayId),
    fetch: relay.fetch,
  });
}

function proofOf(request: Captured | undefined) {
  const proof = decodeAuthorization(request?.headers.get('authorization') ?? undefined);
  expect(proof).not.toBeNull();
  if (proof === null) throw new Error('no proof');
  expect(verifyProofSignature(relayId, proof, keys.verifyKey)).toBe(true);
  return proof;
}

describe('createRelayTransport', () => {
  it('signs one fresh proof per batch, scoped to its paths in request order', async () => {
    const relay = fakeRelay();
    const client = transport(relay);
    await Promise.all([client.stats.query(), client.poll.query({ limit: 5 })]);
    expect(relay.requests.map((request) => request.path)).toEqual(['stats,poll']);
    const proof = proofOf(relay.requests[0]);
    expect(proof).toMatchObject({ agentId: 'alice', scope: 'stats,poll' });

    await client.stats.query();
    const second = proofOf(relay.requests[1]);
    expect(second.scope).toBe('stats');
    expect(second.nonce).not.toBe(proof.nonce);
  });

  it('sends no proof when no mailbox procedure is in the request', async () => {
    const relay = fakeRelay();
    const client = transport(relay);
    await Promise.all([client.info.query(), client.directory.lookup.query({ agentId: 'bob' })]);
    expect(relay.requests).toHaveLength(1);
    expect(relay.requests[0]?.headers.get('authorization')).toBeNull();
  });

  it('sends a long-poll on its own request, never batched with other calls', async () => {
    const relay = fakeRelay();
    const client = transport(relay);
    await Promise.all([client.stats.query(), client.poll.query({ waitMs: 1000 })]);
    expect(relay.requests.map((request) => request.path).sort()).toEqual(['poll', 'stats']);
    for (const request of relay.requests) expect(proofOf(request).scope).toBe(request.path);
  });

  it('sends a lone call at once, on its own request rather than a batch timer', async () => {
    const relay = fakeRelay();
    const client = transport(relay);
    const pending = client.stats.query();
    // Sent within the same turn's microtasks, not after a timer tick.
    await new Promise<void>((resolve) => {
      setImmediate(resolve);
    });
    expect(relay.requests).toHaveLength(1);
    await pending;
    expect(relay.requests[0]).toMatchObject({ path: 'stats', batched: false });
    expect(proofOf(relay.requests[0]).scope).toBe('stats');
  });

  it('caps batches at 10 calls', async () => {
    const relay = fakeRelay();
    const client = transport(relay);
    await Promise.all(Array.from({ length: 12 }, () => client.stats.query()));
    expect(relay.requests.map((request) => request.path.split(',').length)).toEqual([10, 2]);
    expect(relay.requests.map((request) => proofOf(request).scope.split(',').length)).toEqual([
      10, 2,
    ]);
  });

  it('sends the relay access key on every request when configured', async () => {
    const relay = fakeRelay();
    const client = transport(relay, 'access-key-1');
    await client.info.query();
    await client.stats.query();
    expect(relay.requests.map((request) => request.headers.get('x-deaddrop-api-key'))).toEqual([
      'access-key-1',
      'access-key-1',
    ]);
  });

  it('refuses a mailbox call without a signer before sending anything', async () => {
    const relay = fakeRelay();
    const client = createRelayTransport({
      relayUrl: 'http://relay.test',
      relayId: () => Promise.resolve(relayId),
      fetch: relay.fetch,
    });
    const error = await client.stats.query().catch((caught: unknown) => caught);
    expect(toDeadDropError(error, 'http://relay.test')).toMatchObject({
      reason: 'IDENTITY_NOT_FOUND',
    });
    expect(relay.requests).toHaveLength(0);
  });
});

describe('procedure classification', () => {
  it('takes mailbox procedures from the contract table', () => {
    expect(['poll', 'stats', 'delete', 'inbox'].every(isMailboxProcedure)).toBe(true);
    expect(
      ['info', 'send', 'directory.lookup', 'directory.register'].some(isMailboxProcedure),
    ).toBe(false);
  });

  it('treats only a poll with waitMs > 0 as a long-poll', () => {
    expect(isLongPoll({ path: 'poll', input: { waitMs: 10 } })).toBe(true);
    expect(isLongPoll({ path: 'poll', input: { waitMs: 0 } })).toBe(false);
    expect(isLongPoll({ path: 'poll', input: undefined })).toBe(false);
    expect(isLongPoll({ path: 'stats', input: { waitMs: 10 } })).toBe(false);
  });
});
