// The hostile relay's self-test: honest, it serves the real SDK end to end (register, send, poll,
// long-poll, live SSE, batches); told to misbehave, it puts exactly the promised bytes on the wire.
import http, { type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  createProof,
  encodeAuthorization,
  parseAgentKey,
  sealMessage,
  type JsonValue,
} from '@deaddrop/contract';
import { DeadDropClient } from '../src/client.js';
import type { RelayInfo } from '../src/client-types.js';
import { isUnreadable, type InboxEntry } from '../src/inbox-entry.js';
import { createIdentity } from '../src/keystore.js';
import {
  relayFault,
  startHostileRelay,
  type HostileRelay,
} from '@deaddrop/test-support/hostile-relay';

let relay: HostileRelay;
let scratch: string;
let alice: DeadDropClient;
let bob: DeadDropClient;

async function newAgent(agentId: string, home = agentId): Promise<DeadDropClient> {
  const identity = await createIdentity(agentId, {
    home: join(scratch, home),
    relayUrl: relay.url,
  });
  return new DeadDropClient({ identity });
}

/** A message from alice to bob sealed outside the SDK, for `deliver()`. */
function sealedForBob(body: JsonValue): string {
  const recipient = parseAgentKey(bob.agentKey);
  if (recipient === null) throw new Error('bob has no usable key');
  return sealMessage({ from: 'alice', sender: alice.identity.keys, to: 'bob', recipient, body })
    .ciphertext;
}

function bodyOf(entry: InboxEntry | undefined): unknown {
  if (entry === undefined) return undefined;
  return isUnreadable(entry) ? entry.error : entry.body;
}

/** A mailbox proof for bob, as the SDK would sign it for `scope`. */
function bobProof(scope: string): string {
  return encodeAuthorization(
    createProof({ relayId: relay.relayId, agentId: 'bob', keys: bob.identity.keys, scope }),
  );
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One HTTP exchange watched byte by byte, never pooled, so hanging answers stay visible. */
interface Exchange {
  status: number | undefined;
  headers: IncomingHttpHeaders | undefined;
  readonly chunks: Buffer[];
  /** The request is over: answered in full, failed, or cut. */
  finished: boolean;
  text(): string;
  cancel(): void;
}

function exchange(url: string, headers: Record<string, string> = {}): Exchange {
  const seen: Exchange = {
    status: undefined,
    headers: undefined,
    chunks: [],
    finished: false,
    text: () => Buffer.concat(seen.chunks).toString('utf8'),
    cancel: () => request.destroy(),
  };
  const request = http.get(url, { agent: false, headers }, (res) => {
    seen.status = res.statusCode;
    seen.headers = res.headers;
    res.on('data', (chunk: Buffer) => seen.chunks.push(chunk));
    res.on('error', () => undefined);
  });
  request.on('error', () => undefined);
  request.on('close', () => (seen.finished = true));
  return seen;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  [relay, scratch] = await Promise.all([
    startHostileRelay({ limits: { maxWaitMs: 5_000 } }),
    mkdtemp(join(tmpdir(), 'deaddrop-hostile-relay-')),
  ]);
  [alice, bob] = await Promise.all([newAgent('alice'), newAgent('bob')]);
  await Promise.all([alice.register(), bob.register()]);
});

afterAll(async () => {
  await relay.close();
  await rm(scratch, { recursive: true, force: true });
});

afterEach(() => {
  relay.behaveHonestly();
});

describe('the hostile relay, honest, serves the real SDK', () => {
  it('registers idempotently and refuses a taken id to another key', async () => {
    await expect(alice.register()).resolves.toMatchObject({ agentKey: alice.agentKey });
    const impostor = await newAgent('alice', 'impostor');
    await expect(impostor.register()).rejects.toMatchObject({ reason: 'AGENT_ID_TAKEN' });
    await expect(alice.lookup('nobody')).rejects.toMatchObject({ reason: 'AGENT_NOT_FOUND' });
  });

  it('stores a sent message that pollAndDecrypt opens and verifies', async () => {
    const sent = await alice.sendMessage({ to: 'bob', message: { n: 1 } });
    expect(relay.mailbox('bob').map((message) => message.id)).toContain(sent.id);
    const [received, ...rest] = await bob.pollAndDecrypt();
    expect(rest).toEqual([]);
    expect(received).toMatchObject({ id: sent.id, from: 'alice', verified: true, body: { n: 1 } });
  });

  it('wakes a long-poll when a message is delivered', async () => {
    const polled = bob.pollAndDecrypt({ timeoutMs: 5_000 });
    const started = Date.now();
    await waitFor(
      () => relay.callsTo('poll').some((call) => JSON.stringify(call.input).includes('waitMs')),
      'a long-poll',
    );
    relay.deliver('bob', sealedForBob({ n: 2 }));
    const entries = await polled;
    expect(entries.map(bodyOf)).toEqual([{ n: 2 }]);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('streams the backlog, then live messages, over SSE', async () => {
    relay.deliver('bob', sealedForBob({ n: 3 }));
    const stop = new AbortController();
    const inbox = bob.inbox({ signal: stop.signal });
    try {
      expect(bodyOf((await inbox.next()).value ?? undefined)).toEqual({ n: 3 });
      expect(relay.openStreams).toBe(1);
      await alice.sendMessage({ to: 'bob', message: { n: 4 } });
      expect(bodyOf((await inbox.next()).value ?? undefined)).toEqual({ n: 4 });
      expect(relay.callsTo('inbox').at(-1)).toMatchObject({ transport: 'sse', agentId: 'bob' });
    } finally {
      stop.abort();
      await inbox.return(undefined);
    }
  });

  it('answers calls batched in one request', async () => {
    const fresh = new DeadDropClient({ identity: alice.identity });
    const [a, b] = await Promise.all([fresh.lookup('alice'), fresh.lookup('bob')]);
    expect([a.agentKey, b.agentKey]).toEqual([alice.agentKey, bob.agentKey]);
    const batched = relay.callsTo('directory.lookup').slice(-2);
    expect(batched.map((call) => [call.batchSize, call.input])).toEqual([
      [2, { agentId: 'alice' }],
      [2, { agentId: 'bob' }],
    ]);
  });
});

describe('the hostile relay, misbehaving, writes what it promises', () => {
  const trpc = () => `${relay.url}/trpc`;

  it('refuses honestly with the real relay’s exact bytes', async () => {
    // Captured from server/src/main.ts for the same requests.
    const unauthorized = await fetch(`${trpc()}/poll`);
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.text()).toBe(
      '{"error":{"json":{"code":-32001,"message":"mailbox calls need an `authorization: DeadDrop <proof>` header","data":{"code":"UNAUTHORIZED","httpStatus":401,"reason":"AUTH_MISSING","path":"poll"}}}}',
    );
    const unknown = await fetch(`${trpc()}/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe(
      '{"error":{"json":{"code":-32004,"message":"No procedure found on path \\"nope\\"","data":{"code":"NOT_FOUND","httpStatus":404,"reason":"BAD_INPUT","path":"nope"}}}}',
    );
  });

  it('reports changed limits from the next call on', async () => {
    const ttlOf = async () =>
      ((await (await fetch(`${trpc()}/info`)).json()) as { result: { data: { json: RelayInfo } } })
        .result.data.json.limits.ttlSeconds;
    expect(await ttlOf()).toBe(DEFAULT_LIMITS.ttlSeconds);
    relay.setLimits({ ttlSeconds: 60 });
    try {
      expect(await ttlOf()).toBe(60);
      const stored = relay.deliver('nobody-yet', 'AQ', { id: '5-0' });
      expect(stored.expiresAt - stored.receivedAt).toBe(60_000);
    } finally {
      relay.setLimits({ ttlSeconds: DEFAULT_LIMITS.ttlSeconds });
    }
  });

  it('puts tampered data in the answer, around the honest one', async () => {
    relay.misbehave('poll', async (call) => {
      const honest = await call.honest();
      return 'data' in honest ? { data: { ...honest.data, cursor: '../../x', n: 12345 } } : honest;
    });
    const input = encodeURIComponent(JSON.stringify({ json: { after: '0-0', limit: 1 } }));
    const response = await fetch(`${trpc()}/poll?input=${input}`, {
      headers: { authorization: bobProof('poll') },
    });
    const body = (await response.json()) as { result: { data: { json: unknown } } };
    expect(response.status).toBe(200);
    expect(body.result.data.json).toMatchObject({ cursor: '../../x', n: 12345 });
    expect(body.result.data.json).toHaveProperty('messages', [relay.mailbox('bob')[0]]);
  });

  it('answers each call of a batch by its own behaviour, 207 when statuses differ', async () => {
    relay.misbehave('info', () => ({
      error: relayFault('RATE_LIMITED', 'slow down', { retryAfterMs: 1_500 }),
    }));
    const input = encodeURIComponent(JSON.stringify({ 0: { json: { agentId: 'bob' } } }));
    const response = await fetch(`${trpc()}/directory.lookup,info?batch=1&input=${input}`);
    expect(response.status).toBe(207);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(await response.json()).toEqual([
      { result: { data: { json: expect.objectContaining({ agentId: 'bob' }) as unknown } } },
      {
        error: {
          json: {
            code: -32029,
            message: `${relayFault('RATE_LIMITED').message}: slow down`,
            data: {
              code: 'TOO_MANY_REQUESTS',
              httpStatus: 429,
              reason: 'RATE_LIMITED',
              path: 'info',
              retryAfterMs: 1_500,
            },
          },
        },
      },
    ]);
  });

  it('sends exactly the raw bytes asked for', async () => {
    relay.misbehave('info', () => ({ raw: { status: 200, body: '{"result":{"data":' } }));
    const response = await fetch(`${trpc()}/info`);
    expect(await response.text()).toBe('{"result":{"data":');
  });

  it('hangs: nothing at all, not even a status line', async () => {
    relay.misbehave('stats', () => ({ hang: true }));
    const hanging = exchange(`${trpc()}/stats`);
    await sleep(300);
    expect(hanging.status).toBeUndefined();
    expect(hanging.finished).toBe(false);
    hanging.cancel();
  });

  it('trickles: headers, then a byte now and then, never the end', async () => {
    relay.misbehave('info', () => ({ trickle: { intervalMs: 40 } }));
    const trickling = exchange(`${trpc()}/info`);
    await sleep(300);
    expect(trickling.status).toBe(200);
    expect(trickling.text()).toMatch(/^ {3,}$/);
    expect(trickling.finished).toBe(false);
    trickling.cancel();
  });

  it('streams the honest SSE preamble and messages in the relay’s format', async () => {
    const stream = exchange(`${trpc()}/inbox`, { authorization: bobProof('inbox') });
    const first = relay.mailbox('bob')[0];
    await waitFor(() => stream.text().includes('\nid: '), 'a message event');
    stream.cancel();
    expect(stream.headers?.['content-type']).toBe('text/event-stream');
    expect(stream.text()).toMatch(
      /^retry: 1000\nevent: connected\ndata: \{"reconnectAfterInactivityMs":40000\}\n\n/,
    );
    expect(stream.text()).toContain(
      `id: ${first?.id}\ndata: ${JSON.stringify({ json: first })}\n\n`,
    );
  });

  it('follows a script with the honest stream', async () => {
    relay.misbehave('inbox', (request) => {
      expect(request.agentId).toBe('bob');
      return { events: [{ raw: ': scripted\n\n' }], then: 'honest' };
    });
    const stream = exchange(`${trpc()}/inbox`, { authorization: bobProof('inbox') });
    await waitFor(() => stream.text().includes('\nid: '), 'a message event');
    stream.cancel();
    expect(stream.text()).toMatch(/\n\n: scripted\n\nid: /);
  });

  it('plays scripted SSE steps verbatim, a huge event included', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    relay.misbehave('inbox', () => ({
      preamble: false,
      events: [
        { raw: 'retry: -5\n' },
        { raw: 'data: {not json\n\n' },
        { message: { id: '1-0', ciphertext: 42 } },
        { message: 'no id', id: null },
        { ping: true },
        { raw: 'data: ' },
        { repeat: chunk, times: 320 },
        { raw: '\n\n' },
      ],
      then: 'end',
    }));
    const stream = exchange(`${trpc()}/inbox`);
    await waitFor(() => stream.finished, 'the scripted stream to end', 10_000);
    const text = stream.text();
    expect(text.slice(0, text.indexOf('data: x'))).toBe(
      'retry: -5\ndata: {not json\n\n' +
        'id: 1-0\ndata: {"json":{"id":"1-0","ciphertext":42}}\n\n' +
        'data: {"json":"no id"}\n\n' +
        'event: ping\ndata: \n\n',
    );
    expect(text.length).toBe(text.indexOf('data: x') + 6 + chunk.length * 320 + 2);
  });

  it('refuses a subscription with the status and body asked for', async () => {
    relay.misbehave('inbox', () => ({
      status: 503,
      body: 'down for a bit',
      contentType: 'text/plain',
    }));
    const response = await fetch(`${trpc()}/inbox`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('down for a bit');
  });
});

describe('closing the hostile relay', () => {
  it('ends hanging answers, trickles, silent streams and long-polls', async () => {
    const doomed = await startHostileRelay({ limits: { maxWaitMs: 30_000 } });
    doomed.registerAgent('bob', bob.agentKey);
    doomed.misbehave('info', () => ({ hang: true }));
    doomed.misbehave('stats', () => ({ trickle: true }));
    doomed.misbehave('inbox', () => ({ events: [], then: 'hang' }));
    const proof = encodeAuthorization(
      createProof({
        relayId: doomed.relayId,
        agentId: 'bob',
        keys: bob.identity.keys,
        scope: 'poll',
      }),
    );
    const longPoll = encodeURIComponent(JSON.stringify({ json: { waitMs: 30_000 } }));
    const open = [
      exchange(`${doomed.url}/trpc/info`),
      exchange(`${doomed.url}/trpc/stats`),
      exchange(`${doomed.url}/trpc/inbox`),
      exchange(`${doomed.url}/trpc/poll?input=${longPoll}`, { authorization: proof }),
    ];
    await waitFor(() => doomed.calls.length === open.length, 'every request to arrive');
    await sleep(50);
    expect(open.map((request) => request.finished)).toEqual([false, false, false, false]);
    await doomed.close();
    await waitFor(() => open.every((request) => request.finished), 'every request to end', 1_000);
  });
});
