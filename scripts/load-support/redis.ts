// The Redis a run's relays and baseline share (REDIS_URL, default 127.0.0.1:6379): short-lived
// connections that fail fast, and a key prefix per run whose keys are deleted at teardown.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as ioredis from 'ioredis';
import { ROOT } from './child-processes.js';
import { onTeardown } from './teardown.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// ioredis belongs to the server workspace; resolve it from there.
const requireFromServer = createRequire(join(ROOT, 'server', 'package.json'));

/** Runs `work(redis)` on a short-lived connection that fails fast when Redis is not there. */
export async function withRedis<T>(work: (redis: ioredis.Redis) => Promise<T>): Promise<T> {
  const { Redis } = requireFromServer('ioredis') as typeof ioredis;
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

/**
 * CPU time the shared Redis has used since it started (user + system, ms), from `INFO cpu`: a
 * Redis-backed system's store cost per message is the difference across a cell.
 */
export function redisCpuMs(): Promise<number> {
  return withRedis(async (redis) => {
    const info = await redis.info('cpu');
    const field = (name: string): number => {
      const value = new RegExp(`^${name}:([0-9.]+)\\r?$`, 'm').exec(info)?.[1];
      if (value === undefined) throw new Error(`INFO cpu has no ${name}`);
      return Number(value) * 1000;
    };
    return field('used_cpu_user') + field('used_cpu_sys');
  });
}

/** Deletes every key under `prefix` (SCAN + UNLINK); resolves with how many went. */
function deleteRedisKeys(prefix: string): Promise<number> {
  return withRedis(async (redis) => {
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) removed += await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return removed;
  });
}

/** A key prefix of this run's own (`bench-<name>-<pid>-<time>:`), its keys deleted at teardown. */
export function ownRedisKeyPrefix(name: string): string {
  const prefix = `bench-${name}-${process.pid}-${Date.now()}:`;
  onTeardown(() => deleteRedisKeys(prefix));
  return prefix;
}
