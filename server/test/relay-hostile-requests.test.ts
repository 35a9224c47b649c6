// Requests an outsider crafts against the relay (issue 12, findings 5, 6 and 9): subscriptions by
// every path tRPC's adapter would resolve to one, floods of malformed or oversized bodies, and
// inputs whose parsers fail. On both paths a request can take (the procedure lane, and tRPC's
// adapter behind Express), every one is refused by the router's own rules, before it is read,
// and in words that reveal nothing of the relay's insides.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authHeader,
  makeAgent,
  register,
  startTestRelay,
  type TestRelay,
} from './support/relay-harness.js';

const KEY = 'access-key-0123456789';
const alice = makeAgent('alice');

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

async function request(
  relay: TestRelay,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const controller = new AbortController();
  const response = await fetch(`${relay.url}${path}`, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
    signal: controller.signal,
  });
  const contentType = response.headers.get('content-type') ?? '';
  // A stream is not read to its end: its first bytes say what it is.
  const text = contentType.startsWith('text/event-stream')
    ? await firstChunk(response)
    : await response.text();
  controller.abort();
  return { status: response.status, contentType, text };
}

/** A GET with headers fetch will not send (Host), read to its end (or its first bytes). */
function rawGet(base: string, path: string, headers: Record<string, string>): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: hostname, port, path, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        if ((response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          response.destroy();
          resolve({ status: response.statusCode ?? 0, contentType: 'text/event-stream', text });
        }
      });
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          contentType: response.headers['content-type'] ?? '',
          text,
        });
      });
    });
    sent.on('error', reject);
    sent.end();
  });
}

async function firstChunk(response: Response): Promise<string> {
  const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = response.body?.getReader();
  const chunk = await reader?.read();
  await reader?.cancel().catch(() => undefined);
  return new TextDecoder().decode(chunk?.value);
}

interface ErrorEnvelope {
  readonly error?: { readonly json?: { message?: string; data?: { reason?: string } } };
}

/** The first call's error of a single or batched answer. */
function errorOf(reply: Reply): ErrorEnvelope['error'] {
  const parsed = JSON.parse(reply.text) as ErrorEnvelope | ErrorEnvelope[];
  return (Array.isArray(parsed) ? parsed[0] : parsed)?.error;
}

function reasonOf(reply: Reply): string | undefined {
  return errorOf(reply)?.json?.data?.reason;
}

function messageOf(reply: Reply): string {
  return errorOf(reply)?.json?.message ?? '';
}

/** Every way of writing the inbox's path that tRPC's adapter would resolve to the inbox. */
const INBOX_PATHS = [
  '/trpc/inbox',
  '/trpc/x/inbox',
  '/trpc/a/b/c/inbox',
  '/trpc//inbox',
  '/trpc/%69nbox',
  '/trpc/x/%69nbox',
  '/trpc/inbox?connectionParams=1',
  // Express routes the mount case-insensitively.
  '/TRPC/inbox',
  '/Trpc/x/%69nbox',
];

describe.each([true, false])('hostile requests (procedure lane %s)', (procedureLane) => {
  let relay: TestRelay;
  let limited: TestRelay;

  beforeAll(async () => {
    [relay, limited] = await Promise.all([
      startTestRelay('embedded', { DEADDROP_API_KEYS: KEY }, { procedureLane }),
      startTestRelay(
        'embedded',
        // One token a second: however long the flood takes on a busy machine, it outruns the refill.
        { RATE_REQUESTS_PER_SECOND: '1', RATE_REQUEST_BURST: '20' },
        { procedureLane },
      ),
    ]);
    await register(relay.url, relay.relayId, alice, { 'x-deaddrop-api-key': KEY });
  });
  afterAll(async () => {
    await Promise.all([relay.stop(), limited.stop()]);
  });

  it('refuses a Host header that is not a host name with 400, never a 500', async () => {
    for (const host of ['127.0.0@1', 'user:pw@localhost', 'a/b', 'x?y']) {
      for (const path of ['/trpc/nope', '/trpc/inbox', '/trpc/info']) {
        const reply = await rawGet(relay.url, path, { host, 'x-deaddrop-api-key': KEY });
        expect(reply.status, `${host} ${path}`).toBeLessThan(500);
      }
      const unknown = await rawGet(relay.url, '/trpc/nope', { host, 'x-deaddrop-api-key': KEY });
      expect(unknown.status).toBe(400);
      expect(reasonOf(unknown)).toBe('BAD_INPUT');
    }
  });

  it('refuses a subscription without a proof with 401 on every path, never a 200 stream', async () => {
    for (const path of INBOX_PATHS) {
      const reply = await request(relay, path, { headers: { 'x-deaddrop-api-key': KEY } });
      expect(reply.status, path).toBe(401);
      expect(reply.contentType, path).toMatch(/^application\/json/);
      expect(reasonOf(reply), path).toBe('AUTH_MISSING');
    }
  });

  it('checks the access key before the proof on every path', async () => {
    for (const path of INBOX_PATHS) {
      const reply = await request(relay, path, {
        headers: authHeader(relay.relayId, alice, 'inbox'),
      });
      expect(reply.status, path).toBe(401);
      expect(reasonOf(reply), path).toBe('API_KEY_INVALID');
    }
  });

  it('serves a subscription on another path through its own writer, counted and cut off as usual', async () => {
    const controller = new AbortController();
    const response = await fetch(`${relay.url}/trpc/x/%69nbox`, {
      headers: { ...authHeader(relay.relayId, alice, 'inbox'), 'x-deaddrop-api-key': KEY },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(await firstChunk(response)).toMatch(/^retry: \d+\nevent: connected\n/);
    expect(relay.sseStreams()).toBe(1);
    controller.abort();
    await expect.poll(() => relay.sseStreams()).toBe(0);
  });

  it('refuses a subscription by any other method with 405', async () => {
    const reply = await request(relay, '/trpc/y/inbox', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-deaddrop-api-key': KEY },
      body: '{}',
    });
    expect(reply.status).toBe(405);
  });

  it('spends rate-limit tokens on malformed bodies: a flood of them meets 429', async () => {
    const statuses = new Map<number, number>();
    for (let i = 0; i < 60; i++) {
      const reply = await request(limited, '/trpc/send', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
      });
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
    }
    expect(statuses.get(429) ?? 0).toBeGreaterThan(30);
    expect(statuses.get(400) ?? 0).toBeLessThanOrEqual(25);
  });

  it('checks the access key before reading a body, however large or malformed', async () => {
    const big = `{"json":"${'x'.repeat(3_500_000)}`;
    for (const body of ['{not json', 'null', big]) {
      const reply = await request(relay, '/trpc/send', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(reply.status).toBe(401);
      expect(reasonOf(reply)).toBe('API_KEY_INVALID');
    }
    // A batch too, and a query.
    const batch = await request(relay, '/trpc/send,send?batch=1', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[',
    });
    expect(batch.status).toBe(401);
    expect(reasonOf(batch)).toBe('API_KEY_INVALID');
    const query = await request(relay, '/trpc/directory.lookup?input=%7B');
    expect(query.status).toBe(401);
  });

  it('answers inputs whose parsers fail with a generic message, never the parser’s words', async () => {
    const keyed = { 'content-type': 'application/json', 'x-deaddrop-api-key': KEY };
    const deep = `{"json":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const cases: { path: string; method: string; body?: string }[] = [
      { path: '/trpc/send', method: 'POST', body: '{bad' },
      { path: '/trpc/send', method: 'POST', body: 'null' },
      { path: '/trpc/send', method: 'POST', body: deep },
      { path: '/trpc/send', method: 'POST', body: '{"json":{},"meta":{"values":{"a":[["x"]]}}}' },
      { path: '/trpc/send?batch=1', method: 'POST', body: '{"0":null}' },
      { path: `/trpc/directory.lookup?input=${encodeURIComponent('{"json":')}`, method: 'GET' },
      { path: '/trpc/%E0%A4%A', method: 'GET' },
    ];
    for (const { path, method, body } of cases) {
      const reply = await request(relay, path, {
        method,
        headers: keyed,
        ...(body === undefined ? {} : { body }),
      });
      expect(reply.status, path).toBeGreaterThanOrEqual(400);
      expect(reply.status, path).toBeLessThan(500);
      for (const leak of [
        'Maximum call stack',
        'Cannot destructure',
        'Unexpected token',
        'Unexpected end',
        'JSON at position',
        'is not valid JSON',
        'undefined',
        'URI malformed',
      ])
        expect(reply.text, `${path}: ${leak}`).not.toContain(leak);
      if (reply.contentType.startsWith('application/json') && reasonOf(reply) !== undefined)
        expect(messageOf(reply), path).not.toBe('');
    }
  });
});

describe('the subscription rate limit', () => {
  it('is not spent by subscriptions the access key refuses', async () => {
    const relay = await startTestRelay('embedded', {
      DEADDROP_API_KEYS: KEY,
      RATE_SUBSCRIPTIONS_PER_MINUTE: '1',
    });
    try {
      const bob = makeAgent('bob');
      await register(relay.url, relay.relayId, bob, { 'x-deaddrop-api-key': KEY });
      for (let attempt = 0; attempt < 5; attempt++) {
        const refused = await request(relay, '/trpc/inbox', {
          headers: authHeader(relay.relayId, bob, 'inbox'),
        });
        expect(refused.status).toBe(401);
        expect(reasonOf(refused)).toBe('API_KEY_INVALID');
      }
      // The one subscription a minute is still there for the key holder.
      const served = await request(relay, '/trpc/inbox', {
        headers: { ...authHeader(relay.relayId, bob, 'inbox'), 'x-deaddrop-api-key': KEY },
      });
      expect(served.status).toBe(200);
      const limited = await request(relay, '/trpc/inbox', {
        headers: { ...authHeader(relay.relayId, bob, 'inbox'), 'x-deaddrop-api-key': KEY },
      });
      expect(limited.status).toBe(429);
    } finally {
      await relay.stop();
    }
  });
});
