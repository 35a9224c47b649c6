// The servers `npm run bench` measures — the relay on Redis, the relay on its embedded store, and
// the bare Express + ioredis baseline — each a child process on a free loopback port, and the
// workload they share (agents registered, envelopes sealed before any timing).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createRelayTransport } from '@deaddrop/client';
import { deriveAgentKeys, generateSeed, sealMessage, signRegistration } from '@deaddrop/contract';
import {
  BENCH_RATE_LIMITS,
  ROOT,
  cleanEnv,
  onTeardown,
  spawnServer,
} from '../bench-live-processes.mjs';
import { REDIS_URL, withRedis } from '../bench-live-systems.mjs';

export { REDIS_URL };

/** Deletes a run's keys (SCAN + UNLINK). */
function deleteRedisKeys(prefix) {
  return withRedis(async (redis) => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  });
}

function runPrefix(name) {
  return `bench-${name}-${process.pid}-${Date.now()}:`;
}

/** A relay process (built: server/dist/main.js) on Redis or on its embedded store. */
export async function startRelay(store, dataParent = os.tmpdir()) {
  const dataDir = mkdtempSync(join(dataParent, `bench-relay-${store}-`));
  onTeardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = {
    ...cleanEnv(),
    ...BENCH_RATE_LIMITS,
    DEADDROP_DATA_DIR: dataDir,
    STREAM_MAX_LEN: '100000',
  };
  if (store === 'redis') {
    const prefix = runPrefix('relay');
    Object.assign(env, { REDIS_URL, REDIS_KEY_PREFIX: prefix });
    onTeardown(() => deleteRedisKeys(prefix));
  }
  const server = await spawnServer({
    args: [join(ROOT, 'server', 'dist', 'main.js')],
    env,
    readyPath: '/trpc/info',
  });
  const url = `http://${server.host}:${server.port}`;
  return { ...server, url, name: `relay (${store})`, store };
}

export async function startBaseline() {
  const prefix = runPrefix('baseline');
  onTeardown(() => deleteRedisKeys(prefix));
  const server = await spawnServer({
    args: [join(ROOT, 'scripts', 'bench-live-baseline.mjs')],
    env: { ...cleanEnv(), REDIS_URL, BASELINE_KEY_PREFIX: prefix },
    readyPath: '/healthz',
  });
  return { ...server, url: `http://${server.host}:${server.port}`, name: 'baseline' };
}

/**
 * The SDK's tRPC client for the relay (createTRPCClient + httpBatchLink over the SDK's lean fetch),
 * one call per request or batches of up to `maxItems`. `send` needs no proof, so no identity.
 */
export function trpcClient(url, maxItems = 1) {
  return createRelayTransport({
    relayUrl: url,
    relayId: () => Promise.reject(new Error('the benchmark makes no mailbox calls here')),
    maxBatchItems: maxItems,
  });
}

/** `count` recipients with one envelope sealed to each (1 KiB body), shared by every system. */
export function prepareRecipients(count, bodyBytes = 1024) {
  const sender = deriveAgentKeys(generateSeed());
  const body = 'x'.repeat(bodyBytes);
  const tag = Date.now().toString(36);
  return Array.from({ length: count }, (_, i) => {
    const agentId = `bench-${tag}-${i}`;
    const keys = deriveAgentKeys(generateSeed());
    const { ciphertext } = sealMessage({
      from: 'bench-sender',
      sender,
      to: agentId,
      recipient: keys,
      body,
    });
    return { agentId, keys, ciphertext };
  });
}

export async function registerRecipients(relay, recipients) {
  const client = trpcClient(relay.url);
  const { relayId } = await client.info.query();
  for (const { agentId, keys } of recipients) {
    await client.directory.register.mutate(signRegistration({ relayId, agentId, keys }));
  }
}
