import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '@deaddrop/contract';
import { ConfigError, loadRelayConfig } from './env.js';

describe('loadRelayConfig', () => {
  it('applies the PROTOCOL §5 defaults to an empty environment', () => {
    const config = loadRelayConfig({});
    expect(config).toMatchObject({
      port: 8000,
      host: '127.0.0.1',
      redisUrl: undefined,
      dataDir: './.deaddrop-data',
      limits: DEFAULT_LIMITS,
      wsMaxAgeSeconds: 3600,
      relayId: undefined,
      apiKeys: [],
      logLevel: 'info',
      metricsToken: undefined,
    });
  });

  it('maps every variable', () => {
    const config = loadRelayConfig({
      PORT: '9000',
      REDIS_URL: 'redis://127.0.0.1:6379/2',
      MAX_MESSAGE_SIZE: '2048',
      MESSAGE_TTL_SECONDS: '60',
      STREAM_MAX_LEN: '7',
      AUTH_WINDOW_SECONDS: '30',
      MAX_WAIT_MS: '1000',
      WS_MAX_AGE_SECONDS: '10',
      DEADDROP_RELAY_ID: 'relay.one',
      DEADDROP_API_KEYS: 'a, b,,c',
      DEADDROP_DATA_DIR: '/tmp/x',
      LOG_LEVEL: 'warn',
      DEADDROP_METRICS_TOKEN: ' scrape-token ',
    });
    expect(config).toMatchObject({
      port: 9000,
      redisUrl: 'redis://127.0.0.1:6379/2',
      limits: {
        maxMessageBytes: 2048,
        ttlSeconds: 60,
        maxMessages: 7,
        authWindowSeconds: 30,
        maxWaitMs: 1000,
      },
      wsMaxAgeSeconds: 10,
      relayId: 'relay.one',
      apiKeys: ['a', 'b', 'c'],
      dataDir: '/tmp/x',
      logLevel: 'warn',
      metricsToken: 'scrape-token',
    });
  });

  it.each([
    ['PORT', '80000'],
    ['PORT', 'eighty'],
    ['MAX_MESSAGE_SIZE', '-1'],
    ['MAX_MESSAGE_SIZE', '100'],
    ['MESSAGE_TTL_SECONDS', '0'],
    ['STREAM_MAX_LEN', '1.5'],
    ['REDIS_URL', 'http://localhost'],
    ['REDIS_URL', 'redis://:pw@[::1:6379'],
    ['DEADDROP_RELAY_ID', 'has space'],
    ['REDIS_KEY_PREFIX', '{x}'],
    // What the store refuses at start, refused here with the variable's name instead.
    ['REDIS_KEY_PREFIX', 'tenant*'],
    ['REDIS_KEY_PREFIX', 'x'.repeat(65)],
    ['LOG_LEVEL', 'loud'],
    ['REDIS_CLUSTER_NODES', 'redis://a:1'],
    ['REDIS_CLUSTER_NODES', 'a:1,b'],
    ['REDIS_WAIT_REPLICAS', '-1'],
    ['WS_AUTH_TIMEOUT_MS', '0'],
    ['RATE_LIVE_CONNECTIONS_PER_ADDRESS', '-1'],
    ['MAX_BATCH_BYTES', 'lots'],
    // Below the default MAX_MESSAGE_SIZE: a group send could not hold one largest message.
    ['MAX_BATCH_BYTES', '1048575'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadRelayConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadRelayConfig({ [name]: value })).toThrow(name);
  });

  it('reads Redis Cluster seeds and the replica wait, and refuses a Redis URL beside them', () => {
    const config = loadRelayConfig({
      REDIS_CLUSTER_NODES: '127.0.0.1:7000, redis-b.internal:7001',
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '50',
    });
    expect(config.redisClusterNodes).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: 'redis-b.internal', port: 7001 },
    ]);
    expect(config.redisWait).toEqual({ replicas: 1, timeoutMs: 50 });
    expect(loadRelayConfig({}).redisClusterNodes).toEqual([]);
    expect(() =>
      loadRelayConfig({ REDIS_URL: 'redis://x:1', REDIS_CLUSTER_NODES: '127.0.0.1:7000' }),
    ).toThrow('set one of them, not both');
  });

  it('reads the group-send byte limit, by default 4 × the message limit, never below it', () => {
    expect(loadRelayConfig({ MAX_MESSAGE_SIZE: '2048' }).limits.maxBatchBytes).toBe(8192);
    expect(
      loadRelayConfig({ MAX_MESSAGE_SIZE: '2048', MAX_BATCH_BYTES: '2048' }).limits.maxBatchBytes,
    ).toBe(2048);
    expect(() => loadRelayConfig({ MAX_MESSAGE_SIZE: '2048', MAX_BATCH_BYTES: '2047' })).toThrow(
      'MAX_BATCH_BYTES: must be at least MAX_MESSAGE_SIZE (2048)',
    );
  });

  it('reads the WebSocket authentication deadline and the live-connection cap (0: no cap)', () => {
    expect(loadRelayConfig({})).toMatchObject({
      wsAuthTimeoutMs: 5000,
      rateLimits: { liveConnectionsPerAddress: 100 },
    });
    expect(
      loadRelayConfig({ WS_AUTH_TIMEOUT_MS: '750', RATE_LIVE_CONNECTIONS_PER_ADDRESS: '0' }),
    ).toMatchObject({ wsAuthTimeoutMs: 750, rateLimits: { liveConnectionsPerAddress: 0 } });
  });
});
