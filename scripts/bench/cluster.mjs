#!/usr/bin/env node
// `npm run bench:cluster` (issue 7): send throughput of one relay process against two on a local
// 3-master Redis Cluster (and one relay on the single Redis for reference), in one run. The load
// generator spreads requests round-robin over the relays, as a load balancer would. Loopback only,
// bounded in time; runs the BUILT relay, and this script under tsx for the cluster test helper.
//
//   node --import tsx scripts/bench/cluster.mjs [--seconds 5]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedisCluster } from '../test-support/redis-cluster.ts';
import {
  BENCH_RATE_LIMITS,
  ROOT,
  cleanEnv,
  cpuMs,
  onTeardown,
  spawnServer,
  teardown,
} from '../bench-live-processes.mjs';
import { closedLoop, round } from './stats.mjs';
import { REDIS_URL, prepareRecipients, registerRecipients, trpcClient } from './systems.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
if (!(seconds > 0 && seconds <= 60)) throw new Error('--seconds must be in (0, 60]');
const CELLS = [
  { batch: 1, inFlight: 16 },
  { batch: 1, inFlight: 64 },
  { batch: 10, inFlight: 60 },
];

async function startRelay(redisEnv, prefix) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'bench-cluster-relay-'));
  onTeardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = await spawnServer({
    args: [join(ROOT, 'server', 'dist', 'main.js')],
    env: {
      ...cleanEnv(),
      ...BENCH_RATE_LIMITS,
      ...redisEnv,
      REDIS_KEY_PREFIX: prefix,
      DEADDROP_DATA_DIR: dataDir,
      STREAM_MAX_LEN: '1000000',
    },
    readyPath: '/trpc/info',
  });
  return { ...server, url: `http://${server.host}:${server.port}` };
}

/** Closed loop over `relays`, each worker's requests going round-robin over them. */
async function measure(relays, { batch, inFlight }, recipients) {
  const clients = relays.map((relay) => trpcClient(relay.url, batch));
  let next = 0;
  let turn = 0;
  const before = relays.map((relay) => cpuMs(relay.pid).total);
  const result = await closedLoop({
    workers: Math.max(1, Math.round(inFlight / batch)),
    seconds,
    maxMessages: 500_000,
    step: async () => {
      const client = clients[turn++ % clients.length];
      await Promise.all(
        Array.from({ length: batch }, () => {
          const { agentId, ciphertext } = recipients[next++ % recipients.length];
          return client.send.mutate({ to: agentId, ciphertext });
        }),
      );
      return batch;
    },
  });
  const relayCpuMs = relays.reduce((sum, relay, i) => sum + cpuMs(relay.pid).total - before[i], 0);
  return {
    batch,
    inFlight,
    perSecond: result.perSecond,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    failures: result.failures,
    relayCpuUsPerMessage: round((1000 * relayCpuMs) / Math.max(1, result.messages), 0),
  };
}

async function main() {
  const recipients = prepareRecipients(200);
  console.log('starting a 3-master Redis Cluster …');
  const cluster = await startRedisCluster({ masters: 3, appendonly: false });
  onTeardown(() => cluster.stop());
  const clusterEnv = { REDIS_CLUSTER_NODES: cluster.seeds };
  const prefix = `bench-cluster-${process.pid}:`;
  const single = await startRelay({ REDIS_URL }, `bench-single-${process.pid}:`);
  const [first, second] = [
    await startRelay(clusterEnv, prefix),
    await startRelay(clusterEnv, prefix),
  ];
  await registerRecipients(single, recipients);
  await registerRecipients(first, recipients);

  const systems = [
    { name: '1 relay, single Redis', relays: [single] },
    { name: '1 relay, cluster', relays: [first] },
    { name: '2 relays, cluster', relays: [first, second] },
  ];
  const rows = [];
  for (const cell of CELLS) {
    for (const system of systems) {
      const row = { system: system.name, ...(await measure(system.relays, cell, recipients)) };
      rows.push(row);
      console.log(
        `${row.system.padEnd(24)} batch ${String(row.batch).padStart(3)}  in flight ${String(row.inFlight).padStart(3)}  ` +
          `${String(Math.round(row.perSecond)).padStart(6)} msgs/s  p50 ${row.p50Ms} ms  p99 ${row.p99Ms} ms  ` +
          `relay CPU ${row.relayCpuUsPerMessage} µs/msg  failures ${row.failures}`,
      );
    }
  }
  const results = {
    startedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, loadAverage: os.loadavg().map((v) => round(v, 2)) },
    seconds,
    rows,
  };
  writeFileSync(join(ROOT, 'bench-cluster-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(
    `load average ${results.machine.loadAverage.join(' ')}; wrote bench-cluster-results.json`,
  );
}

try {
  await main();
} finally {
  await teardown();
}
