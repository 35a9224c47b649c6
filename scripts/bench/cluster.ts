// `npm run bench:cluster` (issue 7): send throughput of one relay process against two on a local
// 3-master Redis Cluster (and one relay on the single Redis for reference), in one run. The load
// generator spreads requests round-robin over the relays, as a load balancer would. Loopback only,
// bounded in time; runs the BUILT relay; the cluster comes from the tests' helper.
//
//   node --import tsx scripts/bench/cluster.ts [--seconds 5]
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBuiltRelay, type BuiltRelay } from '../load-support/built-relay.js';
import { ROOT } from '../load-support/child-processes.js';
import { cpuMs } from '../load-support/proc-readings.js';
import { REDIS_URL, ownRedisKeyPrefix } from '../load-support/redis.js';
import { onTeardown, teardown } from '../load-support/teardown.js';
import { startRedisCluster } from '../test-support/redis-cluster.js';
import type { SendCell } from './send.js';
import { closedLoop, round } from './stats.js';
import { prepareRecipients, registerRecipients, trpcClient, type Recipient } from './systems.js';

const RESULTS_FILE = join(ROOT, 'bench-cluster-results.json');
const CELLS: readonly SendCell[] = [
  { batch: 1, inFlight: 16 },
  { batch: 1, inFlight: 64 },
  { batch: 10, inFlight: 60 },
];

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
if (!(seconds > 0 && seconds <= 60)) throw new Error('--seconds must be in (0, 60]');

interface ClusterRow extends SendCell {
  readonly system: string;
  readonly perSecond: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly failures: number;
  readonly relayCpuUsPerMessage: number | null;
}

function startRelay(redisEnv: Record<string, string>): Promise<BuiltRelay> {
  return startBuiltRelay({
    name: 'bench-cluster-relay',
    env: { ...redisEnv, STREAM_MAX_LEN: '1000000' },
  });
}

/** Closed loop over `relays`, each worker's requests going round-robin over them. */
async function measure(
  relays: readonly BuiltRelay[],
  { batch, inFlight }: SendCell,
  recipients: readonly Recipient[],
): Promise<Omit<ClusterRow, 'system'>> {
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
      if (client === undefined) throw new Error('no relay');
      await Promise.all(
        Array.from({ length: batch }, () => {
          const recipient = recipients[next++ % recipients.length];
          if (recipient === undefined) throw new Error('no recipients');
          return client.send.mutate({ to: recipient.agentId, ciphertext: recipient.ciphertext });
        }),
      );
      return batch;
    },
  });
  const relayCpuMs = relays.reduce(
    (sum, relay, i) => sum + cpuMs(relay.pid).total - (before[i] ?? 0),
    0,
  );
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

async function main(): Promise<void> {
  const recipients = prepareRecipients(200);
  console.log('starting a 3-master Redis Cluster …');
  const cluster = await startRedisCluster({ masters: 3, appendonly: false });
  onTeardown(() => cluster.stop());
  // The cluster's keys go with the cluster; the single Redis's are deleted at teardown.
  const clusterEnv = {
    REDIS_CLUSTER_NODES: cluster.seeds,
    REDIS_KEY_PREFIX: `bench-cluster-${process.pid}:`,
  };
  const single = await startRelay({ REDIS_URL, REDIS_KEY_PREFIX: ownRedisKeyPrefix('single') });
  const first = await startRelay(clusterEnv);
  const second = await startRelay(clusterEnv);
  await registerRecipients(single, recipients);
  await registerRecipients(first, recipients);

  const systems = [
    { name: '1 relay, single Redis', relays: [single] },
    { name: '1 relay, cluster', relays: [first] },
    { name: '2 relays, cluster', relays: [first, second] },
  ];
  const rows: ClusterRow[] = [];
  for (const cell of CELLS) {
    for (const system of systems) {
      const row = { system: system.name, ...(await measure(system.relays, cell, recipients)) };
      rows.push(row);
      console.log(
        `${row.system.padEnd(24)} batch ${String(row.batch).padStart(3)}  in flight ${String(row.inFlight).padStart(3)}  ` +
          `${String(Math.round(row.perSecond ?? 0)).padStart(6)} msgs/s  p50 ${row.p50Ms ?? '?'} ms  p99 ${row.p99Ms ?? '?'} ms  ` +
          `relay CPU ${row.relayCpuUsPerMessage ?? '?'} µs/msg  failures ${row.failures}`,
      );
    }
  }
  const loadAverage = os.loadavg().map((v) => round(v, 2));
  const results = {
    startedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, loadAverage },
    seconds,
    rows,
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`load average ${loadAverage.join(' ')}; wrote bench-cluster-results.json`);
}

try {
  await main();
} finally {
  await teardown();
}
