#!/usr/bin/env node
// `npm run bench:live` (issue 3): how many live inbox subscribers (SSE) one relay process holds,
// what each costs in RSS, and how fast messages reach them, next to a bare Express + ioredis SSE
// baseline measured in the same run. Loopback only; bounded in time and count; runs against the
// BUILT packages (`npx turbo run build` first — the npm script does it). Writes
// bench-live-results.json (gitignored).
//
//   node scripts/bench-live.mjs [--quick] [--n 5000 | --max] [--redis] [--seconds 10]
//                               [--deadline 900] [--data-dir /dev/shm]
//                               [--heap-snapshot] [--cpu-profile]
//
// --quick: N=1,000 and 5 s per rate. --max: as many streams as the fd hard limit allows, less
// headroom. --redis: the relay on Redis rather than its embedded store. --data-dir: where the
// embedded store's folder goes (e.g. tmpfs, to take fsync out of the picture). --heap-snapshot /
// --cpu-profile: relay diagnostics into a temporary folder, for a report, never committed.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureSystem, round } from './bench-live-measure.mjs';
import { ROOT, nofileLimit, reexecWithRaisedLimit, teardown } from './bench-live-processes.mjs';
import {
  REDIS_URL,
  baselineSystem,
  prepareWorkload,
  relaySystem,
  withRedis,
} from './bench-live-systems.mjs';

const RESULTS_FILE = join(ROOT, 'bench-live-results.json');
/** Descriptors each process keeps besides its streams: listener, store, stdio, sender sockets. */
const FD_HEADROOM = 500;
/** `--max` stops here even on a machine with a huge fd limit: the run must stay bounded. */
const MAX_STREAMS = 100_000;
const GOALS = { heldShare: 0.95, rssPerStreamKB: 50, deliveryMs: 2_000, p99Ratio: 1.5 };

const results = { startedAt: new Date().toISOString() };

function writeResults() {
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
}

async function abort(reason, code) {
  console.error(`\nbench-live: ${reason}; tearing down`);
  writeResults();
  await teardown();
  process.exit(code);
}

function readPlan(hard) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      max: { type: 'boolean', default: false },
      n: { type: 'string' },
      redis: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      deadline: { type: 'string' },
      'data-dir': { type: 'string', default: os.tmpdir() },
      'heap-snapshot': { type: 'boolean', default: false },
      'cpu-profile': { type: 'boolean', default: false },
    },
  });
  const ceiling = Math.min(MAX_STREAMS, hard - FD_HEADROOM);
  const n = values.max ? ceiling : Number(values.n ?? 1_000);
  if (!Number.isInteger(n) || n < 1 || n > ceiling) {
    throw new Error(`--n must be a whole number from 1 to ${ceiling} (fd hard limit ${hard})`);
  }
  const rateSeconds = Number(values.seconds ?? (values.quick ? 5 : 10));
  if (!(rateSeconds > 0 && rateSeconds <= 60)) throw new Error('--seconds must be 1 to 60');
  return {
    n,
    quick: values.quick,
    redis: values.redis,
    rates: [500, 1_000],
    rateSeconds,
    // Setup on the embedded store is fsync-bound (a few ms per registration and per stream).
    deadlineMs: 1000 * Number(values.deadline ?? (values.quick ? 300 : 600 + Math.ceil(n * 0.03))),
    dataParent: values['data-dir'],
    heapSnapshot: values['heap-snapshot'],
    cpuProfile: values['cpu-profile'],
  };
}

function describeMachine(limit) {
  return {
    fdSoftLimit: limit.soft,
    fdHardLimit: limit.hard,
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    memoryGB: round(os.totalmem() / 2 ** 30),
    loadAverageAtStart: os.loadavg().map((load) => round(load, 2)),
    node: process.version,
    kernel: os.release(),
    ephemeralPorts: readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim(),
  };
}

/**
 * What was measured: the relay runs from server/dist, which may have been built from a working
 * tree with uncommitted changes, or be older than the sources; the results say so.
 */
function buildProvenance() {
  const git = (...args) => spawnSync('git', args, { cwd: ROOT }).stdout?.toString().trim();
  const dirty = git('status', '--porcelain', '--', 'server/src', 'contract/src');
  const builtAt = statSync(join(ROOT, 'server', 'dist', 'main.js')).mtimeMs;
  const sources = ['server/src', 'contract/src'].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true }).map((file) => join(ROOT, dir, file)),
  );
  return {
    head: git('rev-parse', '--short', 'HEAD'),
    uncommittedSourceFiles: dirty === '' ? 0 : dirty.split('\n').length,
    serverDistBuiltAt: new Date(builtAt).toISOString(),
    sourcesNewerThanDist: sources.filter((file) => {
      const stat = statSync(file);
      return stat.isFile() && stat.mtimeMs > builtAt;
    }).length,
  };
}

function goalChecks(plan, ours, baseline) {
  const phases = [ours.burst, ...ours.rates];
  const worst = Math.max(...phases.map((phase) => phase.maxMs ?? Infinity));
  const lost = phases.reduce((sum, phase) => sum + phase.undelivered + phase.sendFailures, 0);
  const hard = results.machine.fdHardLimit;
  const checks = [
    {
      goal: `>= ${GOALS.heldShare * 100}% of the fd hard limit (${hard}) held by one relay`,
      value: `${ours.held} streams = ${round((100 * ours.held) / hard)}%`,
      pass: ours.held >= GOALS.heldShare * hard,
    },
    {
      goal: `<= ${GOALS.rssPerStreamKB} KB RSS per subscriber`,
      value: `${ours.rssPerStreamKB} KB`,
      pass: ours.rssPerStreamKB <= GOALS.rssPerStreamKB,
    },
    {
      goal: `every message delivered within ${GOALS.deliveryMs} ms`,
      value: `max ${worst} ms, ${lost} lost or failed`,
      pass: lost === 0 && worst <= GOALS.deliveryMs,
    },
  ];
  for (const [index, rate] of plan.rates.entries()) {
    const ratio = ours.rates[index].p99Ms / baseline.rates[index].p99Ms;
    checks.push({
      goal: `p99 at ${rate}/s <= ${GOALS.p99Ratio}x baseline`,
      value: `${round(ratio, 2)}x`,
      pass: ratio <= GOALS.p99Ratio,
    });
  }
  return checks;
}

/** Rows of the table: label, how to read it from a system's result, whether to show a ratio. */
function tableRows(plan) {
  const rows = [
    ['streams held', (r) => r.held],
    ['RSS per stream (KB)', (r) => r.rssPerStreamKB, true],
    ['connect all (s)', (r) => r.connectSeconds],
    ['idle server CPU share', (r) => r.idleCpu.serverCpuShare],
    ['burst: all delivered (ms)', (r) => r.burst.allDeliveredMs, true],
    ['burst: delivered/s', (r) => r.burst.deliveredPerSecond],
    ['burst: max latency (ms)', (r) => r.burst.maxMs],
  ];
  for (const [index, rate] of plan.rates.entries()) {
    const at = (r) => r.rates[index];
    rows.push(
      [`${rate}/s p50 (ms)`, (r) => at(r).p50Ms],
      [`${rate}/s p99 (ms)`, (r) => at(r).p99Ms, true],
      [`${rate}/s max (ms)`, (r) => at(r).maxMs],
      [`${rate}/s server CPU share`, (r) => at(r).cpu.serverCpuShare],
      [`${rate}/s server CPU/msg (us)`, (r) => at(r).cpu.serverCpuUsPerMessage, true],
    );
  }
  return rows;
}

function printReport(plan, ours, baseline) {
  const cell = (value) => String(value ?? '-').padStart(12);
  console.log(`\n${''.padEnd(28)}${cell('ours')}${cell('baseline')}${cell('ours/base')}`);
  for (const [label, pick, withRatio] of tableRows(plan)) {
    const a = pick(ours);
    const b = pick(baseline);
    console.log(
      `${label.padEnd(28)}${cell(a)}${cell(b)}${cell(withRatio && b ? round(a / b, 2) : '')}`,
    );
  }
  for (const r of [ours, baseline]) {
    const lines = Object.entries(r.serverLog).map(([line, count]) => `${line} x${count}`);
    if (lines.length > 0) console.log(`${r.system} server log: ${lines.join('; ')}`);
  }
  const { loadAverageAtStart, loadAverageAtEnd } = results.machine;
  console.log(
    `load average ${loadAverageAtStart.join(' ')} at start, ${loadAverageAtEnd.join(' ')} at end`,
  );
  console.log('\ngoals:');
  for (const check of results.goals) {
    console.log(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.goal}: ${check.value}`);
  }
}

async function main() {
  const limit = nofileLimit();
  if (limit.soft < limit.hard && process.env.BENCH_LIVE_REEXEC === undefined) {
    await reexecWithRaisedLimit(fileURLToPath(import.meta.url), limit.hard);
  }
  const plan = readPlan(limit.hard);
  const deadline = setTimeout(() => {
    void abort(`overall deadline of ${plan.deadlineMs / 1000} s reached`, 2);
  }, plan.deadlineMs);
  deadline.unref();
  process.on('SIGINT', () => abort('interrupted', 130));
  process.on('SIGTERM', () => abort('terminated', 143));

  Object.assign(results, { machine: describeMachine(limit), plan, build: buildProvenance() });
  console.log(
    `fd limit ${limit.soft}/${limit.hard} (soft/hard), ${results.machine.nproc} CPUs, ` +
      `load ${results.machine.loadAverageAtStart.join(' ')}; N=${plan.n}, ` +
      `rates ${plan.rates.join(', ')}/s for ${plan.rateSeconds} s`,
  );
  await withRedis((redis) => redis.ping()).catch((error) => {
    throw new Error(`the baseline (and --redis) need Redis at ${REDIS_URL}: ${error.message}`);
  });

  const sealing = performance.now();
  const workload = prepareWorkload(plan);
  Object.assign(plan, { bodyBytes: workload.bodyBytes, envelopeChars: workload.ciphertextChars });
  const sealed = plan.n + workload.rates.flat().length;
  console.log(`sealed ${sealed} messages in ${round((performance.now() - sealing) / 1000)} s`);

  results.ours = {};
  await measureSystem(relaySystem(plan, workload), 0, plan, workload, results.ours);
  console.log(`  relay fd limit ${results.ours.fdLimit.soft}/${results.ours.fdLimit.hard}`);
  writeResults();
  results.baseline = {};
  await measureSystem(baselineSystem(workload), 1, plan, workload, results.baseline);
  results.machine.loadAverageAtEnd = os.loadavg().map((load) => round(load, 2));
  results.goals = goalChecks(plan, results.ours, results.baseline);
  writeResults();
  printReport(plan, results.ours, results.baseline);
  console.log(`\nwrote ${RESULTS_FILE}`);
  await teardown();
}

main().then(
  () => process.exit(0),
  (error) => abort(error.stack ?? String(error), 1),
);
