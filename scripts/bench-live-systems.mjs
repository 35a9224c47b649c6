// The two systems `npm run bench:live` compares — our relay and the bare Express + ioredis
// baseline — each as start / prepare / stream request / send request, and the workload they share.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import {
  createProof,
  deriveAgentKeys,
  encodeAuthorization,
  generateSeed,
  sealMessage,
  signRegistration,
} from '@deaddrop/contract';
import { getJson, postJson } from './bench-live-clients.mjs';
import { SEND_CONCURRENCY, runPool } from './bench-live-measure.mjs';
import {
  BENCH_RATE_LIMITS,
  ROOT,
  cleanEnv,
  onTeardown,
  spawnServer,
} from './bench-live-processes.mjs';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BODY = 'x'.repeat(256);
// ioredis belongs to the server workspace; resolve it from there.
const serverRequire = createRequire(join(ROOT, 'server', 'package.json'));

/** Runs `work(redis)` on a short-lived connection that fails fast when Redis is not there. */
export async function withRedis(work) {
  const { Redis } = serverRequire('ioredis');
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

/** Deletes a run's keys (SCAN + UNLINK), returning how many went. */
function deleteRedisKeys(prefix) {
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

/** Keys for every mailbox and every message sealed up front, shared by both systems. */
export function prepareWorkload(plan) {
  const tag = Date.now().toString(36);
  const sender = deriveAgentKeys(generateSeed());
  const agents = Array.from({ length: plan.n }, (_, i) => ({
    agentId: `bench-${tag}-${i}`,
    keys: deriveAgentKeys(generateSeed()),
  }));
  const seal = (to) =>
    sealMessage({
      from: 'bench-sender',
      sender,
      to: agents[to].agentId,
      recipient: agents[to].keys,
      body: BODY,
    }).ciphertext;
  const burst = agents.map((_, i) => seal(i));
  const rates = plan.rates.map((rate) =>
    Array.from({ length: rate * plan.rateSeconds }, () => {
      const to = Math.floor(Math.random() * plan.n);
      return { to, ciphertext: seal(to) };
    }),
  );
  return { agents, burst, rates, bodyBytes: BODY.length, ciphertextChars: burst[0].length };
}

/** Starts the relay with `--heapsnapshot-signal` / `--cpu-prof` writing into a temporary folder. */
function diagnosticsArgs(plan) {
  if (!plan.heapSnapshot && !plan.cpuProfile) return { args: [], dir: undefined };
  // Outside the repository: snapshots and profiles are never committed.
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-live-profile-'));
  console.log(`  relay diagnostics go to ${dir}`);
  return {
    args: [
      ...(plan.heapSnapshot ? ['--heapsnapshot-signal=SIGUSR2'] : []),
      ...(plan.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []),
    ],
    dir,
  };
}

/** Our relay: node server/dist/main.js, embedded store by default, Redis with `--redis`. */
export function relaySystem(plan, workload) {
  const agentId = (i) => workload.agents[i].agentId;
  let relayId;
  return {
    name: 'ours',
    label: `relay (${plan.redis ? 'redis' : 'embedded'} store)`,
    async start() {
      const dataDir = mkdtempSync(join(plan.dataParent, 'bench-live-relay-'));
      onTeardown(() => rmSync(dataDir, { recursive: true, force: true }));
      const env = { ...cleanEnv(), ...BENCH_RATE_LIMITS, DEADDROP_DATA_DIR: dataDir };
      if (plan.redis) {
        const prefix = `bench-live-${process.pid}-${Date.now()}:`;
        Object.assign(env, { REDIS_URL, REDIS_KEY_PREFIX: prefix });
        onTeardown(() => deleteRedisKeys(prefix));
      }
      const diagnostics = diagnosticsArgs(plan);
      const server = await spawnServer({
        args: [...diagnostics.args, join(ROOT, 'server', 'dist', 'main.js')],
        env,
        readyPath: '/trpc/info',
        cwd: diagnostics.dir ?? ROOT,
      });
      relayId = (await getJson({ ...server, path: '/trpc/info' })).result.data.json.relayId;
      return { ...server, snapshotDir: plan.heapSnapshot ? diagnostics.dir : undefined };
    },
    /** Registers every mailbox's agent (signed just before sending: the relay checks `ts`). */
    async prepare(server, sender) {
      await runPool(workload.agents.length, SEND_CONCURRENCY, async (i) => {
        const { agentId, keys } = workload.agents[i];
        const registration = signRegistration({ relayId, agentId, keys });
        const path = '/trpc/directory.register';
        await postJson({ ...server, path, body: { json: registration }, agent: sender });
      });
    },
    /** The request httpSubscriptionLink makes, with a fresh `inbox` proof for this connection. */
    stream(i) {
      const { keys } = workload.agents[i];
      const proof = createProof({ relayId, agentId: agentId(i), keys, scope: 'inbox' });
      return {
        path: `/trpc/inbox?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`,
        headers: { authorization: encodeAuthorization(proof) },
      };
    },
    send: (i, ciphertext) => ({
      path: '/trpc/send',
      body: { json: { to: agentId(i), ciphertext } },
    }),
    sentId: (answer) => answer.result.data.json.id,
  };
}

/** The bare Express 5 + ioredis baseline (scripts/bench-live-baseline.mjs). */
export function baselineSystem(workload) {
  const agentId = (i) => workload.agents[i].agentId;
  return {
    name: 'baseline',
    label: 'express 5 + ioredis XADD, plain SSE',
    async start() {
      const prefix = `bench-live-baseline-${process.pid}-${Date.now()}:`;
      onTeardown(() => deleteRedisKeys(prefix));
      return spawnServer({
        args: [join(ROOT, 'scripts', 'bench-live-baseline.mjs')],
        env: { ...cleanEnv(), REDIS_URL, BASELINE_KEY_PREFIX: prefix },
        readyPath: '/healthz',
      });
    },
    prepare: async () => undefined,
    stream: (i) => ({ path: `/sub/${agentId(i)}`, headers: {} }),
    send: (i, ciphertext) => ({ path: '/send', body: { to: agentId(i), ciphertext } }),
    sentId: (answer) => answer.id,
  };
}
