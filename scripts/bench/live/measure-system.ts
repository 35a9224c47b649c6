// One system of `npm run bench:live`, start to finish: start, subscribe N, memory, burst, rates,
// saturation search, stop; with heap snapshots of the relay when asked for.
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nofileLimit } from '../../load-support/fd-limit.js';
import { fdCount, rssKB } from '../../load-support/proc-readings.js';
import { onTeardown } from '../../load-support/teardown.js';
import { round } from '../stats.js';
import { startCpuMeter } from './cpu-meter.js';
import type { LiveSystemResult, StreamsMeasure } from './live-results.js';
import type { LivePlan } from './plan.js';
import { measureSaturation } from './saturation.js';
import { SEND_CONCURRENCY, measureBurst, measureRate, type RateResult } from './send-phases.js';
import { openSubscribers, sourceAddresses, type SubscriberPool } from './subscriber-pool.js';
import type { LiveServer, LiveSystem } from './systems.js';
import type { Workload } from './workload.js';

const SETTLE_MS = 2_000;
const IDLE_MS = 5_000;
const SNAPSHOT_WAIT_MS = 180_000;

/** Signals the relay to write a heap snapshot into its working folder and waits for it. */
async function takeHeapSnapshot(snapshotDir: string, pid: number): Promise<string | null> {
  const earlier = new Set(readdirSync(snapshotDir));
  process.kill(pid, 'SIGUSR2');
  let lastSize = -1;
  for (let waited = 0; waited < SNAPSHOT_WAIT_MS; waited += 1_000) {
    await sleep(1_000);
    const file = readdirSync(snapshotDir).find(
      (name) => name.endsWith('.heapsnapshot') && !earlier.has(name),
    );
    if (file === undefined) continue;
    const path = join(snapshotDir, file);
    const size = statSync(path).size;
    if (size > 0 && size === lastSize) return path;
    lastSize = size;
  }
  return null;
}

/** Streams opened, then RSS and idle CPU with all of them held. */
async function measureStreams(
  system: LiveSystem,
  server: LiveServer,
  plan: LivePlan,
  systemIndex: number,
): Promise<{ pool: SubscriberPool; measured: StreamsMeasure }> {
  const rssBefore = rssKB(server.pid);
  const addresses = sourceAddresses(systemIndex, plan.n);
  const connectCpu = startCpuMeter(server.pid);
  const pool = await openSubscribers(system, server, plan.n, addresses);
  const connect = connectCpu(0);
  // Idle streams still cost something (pings, catch-up reads): measured before any message.
  const idleCpu = startCpuMeter(server.pid);
  await sleep(IDLE_MS);
  const rssAfter = rssKB(server.pid);
  const measured = {
    sourceAddresses: addresses,
    connected: pool.open,
    connectFailures: pool.failed,
    connectErrors: pool.errors,
    connectSeconds: round(pool.openMs / 1000),
    connectCpu: connect,
    idleCpu: idleCpu(0),
    serverFds: fdCount(server.pid),
    rssBeforeKB: rssBefore,
    rssAfterKB: rssAfter,
    rssPerStreamKB: round((rssAfter - rssBefore) / Math.max(1, pool.open), 2),
    benchRssKB: rssKB(process.pid),
  };
  console.log(
    `  ${pool.open} open in ${measured.connectSeconds ?? '?'} s (${pool.failed} failed); ` +
      `RSS ${rssBefore} → ${rssAfter} kB = ${measured.rssPerStreamKB ?? '?'} kB/stream`,
  );
  return { pool, measured };
}

/**
 * Measures `system` with `plan.n` subscribers. Fills `result` as it goes, so an interrupted run
 * still reports what was measured.
 */
export async function measureSystem(
  system: LiveSystem,
  systemIndex: number,
  plan: LivePlan,
  workload: Workload,
  result: Partial<LiveSystemResult>,
): Promise<LiveSystemResult> {
  console.log(`\n${system.name}: ${system.label}, ${plan.n} subscribers`);
  Object.assign(result, { system: system.name, label: system.label, n: plan.n });
  const server = await system.start();
  const fdLimit = nofileLimit(server.pid);
  Object.assign(result, { fdLimit });
  const sender = new http.Agent({ keepAlive: true, maxSockets: SEND_CONCURRENCY });
  onTeardown(() => {
    sender.destroy();
  });
  await system.prepare(server, sender);
  // Registration's garbage settles before the "before" RSS reading.
  await sleep(SETTLE_MS);
  const { snapshotDir } = server;
  let heapSnapshotBeforeConnect: string | null | undefined;
  if (snapshotDir !== undefined) {
    // Diffed against the one after connect, it shows what the streams alone hold.
    heapSnapshotBeforeConnect = await takeHeapSnapshot(snapshotDir, server.pid);
    Object.assign(result, { heapSnapshotBeforeConnect });
    console.log(`  heap snapshot before connect: ${heapSnapshotBeforeConnect ?? 'none'}`);
    await sleep(SETTLE_MS);
  }

  const { pool, measured } = await measureStreams(system, server, plan, systemIndex);
  Object.assign(result, measured);
  let heapSnapshotAfterConnect: string | null | undefined;
  let heapSnapshotAtEnd: string | null | undefined;
  if (snapshotDir !== undefined) {
    heapSnapshotAfterConnect = await takeHeapSnapshot(snapshotDir, server.pid);
    Object.assign(result, { heapSnapshotAfterConnect });
    console.log(`  heap snapshot: ${heapSnapshotAfterConnect ?? 'none'}`);
  }

  const context = { system, server, sender, pool };
  const burst = await measureBurst(context, workload.burst);
  Object.assign(result, { burst });
  console.log(`  burst: ${JSON.stringify(burst)}`);
  const rates: RateResult[] = [];
  Object.assign(result, { rates });
  for (const [index, rate] of plan.rates.entries()) {
    const rated = await measureRate(context, rate, workload.rates[index] ?? []);
    rates.push(rated);
    console.log(`  ${rate}/s: ${JSON.stringify(rated)}`);
  }
  // After the fixed rates (and before the last heap snapshot), so their figures are untouched.
  const saturation = await measureSaturation(
    context,
    plan.saturationRates,
    workload.saturation,
    (phase, held) => {
      console.log(
        `  saturation ${phase.rate}/s ${held ? 'held' : 'MISSED'}: sent at ${phase.achievedRate ?? '?'}/s, ` +
          `p99 ${phase.p99Ms ?? '?'} ms, max ${phase.maxMs ?? '?'} ms, ` +
          `${phase.undelivered} undelivered, ${phase.sendFailures} failed`,
      );
    },
  );
  Object.assign(result, { saturation });
  if (snapshotDir !== undefined) {
    // A second one after the messages: does anything per message stay behind?
    heapSnapshotAtEnd = await takeHeapSnapshot(snapshotDir, server.pid);
    Object.assign(result, { heapSnapshotAtEnd });
    console.log(`  heap snapshot: ${heapSnapshotAtEnd ?? 'none'}`);
  }
  const done: LiveSystemResult = {
    system: system.name,
    label: system.label,
    n: plan.n,
    fdLimit,
    ...measured,
    ...(heapSnapshotBeforeConnect === undefined ? {} : { heapSnapshotBeforeConnect }),
    ...(heapSnapshotAfterConnect === undefined ? {} : { heapSnapshotAfterConnect }),
    burst,
    rates,
    saturation,
    ...(heapSnapshotAtEnd === undefined ? {} : { heapSnapshotAtEnd }),
    held: pool.open,
    dropped: pool.dropped,
    rssEndKB: rssKB(server.pid),
    serverLog: server.output.counts,
  };
  Object.assign(result, done);
  await pool.close();
  await server.stop();
  return done;
}
