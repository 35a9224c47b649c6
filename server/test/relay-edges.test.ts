// What a person meets at the relay's edges: a start against an unreachable Redis says which one
// (never its password) and why; the relay's address answers with what it is; any other path is a
// JSON 404; unknown procedures and refused keys and rates say what to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSourceProcess } from '@deaddrop/test-support/source-process';
import { loadRelayConfig } from '../src/env.js';
import { silentLogger } from '../src/log.js';
import { startRelay } from '../src/relay.js';
import { redactedRedisUrl } from '../src/store/redis/redis-connection.js';
import { RedisMailboxStore } from '../src/store/redis/redis-mailbox-store.js';
import { startTestRelay, type TestRelay } from './support/relay-harness.js';

describe('a relay that cannot reach its store at start', () => {
  it('stops with one line naming the store, without its password, and the cause', async () => {
    const relay = startSourceProcess('server/src/main.ts', [], {
      PATH: process.env.PATH,
      PORT: '0',
      REDIS_URL: 'redis://user:hunter2@127.0.0.1:1',
    });
    const code = await new Promise<number | null>((resolve) => relay.child.once('exit', resolve));
    expect(code).toBe(1);
    expect(relay.output()).toContain(
      'deaddrop relay: failed to start: cannot reach Redis at redis://user:***@127.0.0.1:1 (REDIS_URL): connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(relay.output()).not.toContain('hunter2');
  });

  it(
    'stops within its start deadline when no Redis Cluster seed answers',
    { tags: ['slow'], timeout: 30_000 },
    async () => {
      const relay = startSourceProcess('server/src/main.ts', [], {
        PATH: process.env.PATH,
        PORT: '0',
        REDIS_CLUSTER_NODES: '127.0.0.1:1',
      });
      const started = Date.now();
      const code = await new Promise<number | null>((resolve) => relay.child.once('exit', resolve));
      expect(code).toBe(1);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(relay.output()).toContain(
        'deaddrop relay: failed to start: cannot reach the Redis Cluster at 127.0.0.1:1 (REDIS_CLUSTER_NODES)',
      );
    },
  );

  it('never shows a password, in the URL or in its query (ioredis reads options there)', () => {
    expect(redactedRedisUrl('redis://user:hunter2@127.0.0.1:6390/0?password=hunter3&db=1')).toBe(
      'redis://user:***@127.0.0.1:6390/0?password=***&db=***',
    );
    expect(redactedRedisUrl('redis://[::1')).toBe('(an unparsable URL)');
  });

  it('names a store its caller gave by its kind, not the configured one it is not', async () => {
    const store = RedisMailboxStore.connect('redis://127.0.0.1:1', {
      ttlSeconds: 60,
      maxMessages: 10,
    });
    const config = loadRelayConfig({ PORT: '0', HOST: '127.0.0.1', DEADDROP_RELAY_ID: 'given' });
    await expect(startRelay(config, { log: silentLogger, store })).rejects.toThrow(
      'cannot reach the redis store given to startRelay: connect ECONNREFUSED 127.0.0.1:1',
    );
    await store.close();
  });
});

describe('the relay to a person', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay('embedded', {
      DEADDROP_API_KEYS: 'a-key-0123456789',
      RATE_REQUESTS_PER_SECOND: '1',
      RATE_REQUEST_BURST: '1',
    });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('says what it is at its address', async () => {
    const response = await fetch(`${relay.url}/`);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toMatchObject({
      service: 'DeadDrop relay',
      relayId: relay.relayId,
      procedures: expect.stringContaining('/trpc') as unknown,
    });
  });

  it('answers any other path with a JSON 404, not an HTML page', async () => {
    const response = await fetch(`${relay.url}/nothing/here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      error: { code: 'NOT_FOUND', message: expect.stringContaining('/trpc') as unknown },
    });
  });

  it('names unknown procedures, the access key variable, and the rate limit in plain words', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const unknown = (await (
      await fetch(`${relay.url}/trpc/nope`, {
        headers: { 'x-deaddrop-api-key': 'a-key-0123456789' },
      })
    ).json()) as {
      error: { json: { message: string; data: { reason: string } } };
    };
    expect(unknown.error.json.data.reason).toBe('UNKNOWN_PROCEDURE');

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const keyless = (await (
      await fetch(
        `${relay.url}/trpc/directory.lookup?input=${encodeURIComponent('{"json":{"agentId":"a"}}')}`,
      )
    ).json()) as { error: { json: { message: string } } };
    expect(keyless.error.json.message).toContain('DEADDROP_API_KEY');

    const limited = (await (await fetch(`${relay.url}/trpc/info`)).json()) as {
      error: { json: { message: string; data: { reason: string } } };
    };
    expect(limited.error.json.data.reason).toBe('RATE_LIMITED');
    expect(limited.error.json.message).toMatch(
      /^too many requests from your address; wait a little/,
    );
    expect(limited.error.json.message).not.toContain('Retry-After');
  });
});
