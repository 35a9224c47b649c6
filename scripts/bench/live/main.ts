// `npm run bench:live` (issue 3): how many live inbox subscribers (SSE) one relay process holds,
// what each costs in RSS, and how fast messages reach them, next to a bare Express + ioredis SSE
// baseline measured in the same run. Loopback only; bounded in time and count; runs against the
// BUILT packages (`npx turbo run build` first — the npm script does it). Writes
// bench-live-results.json (gitignored).
//
//   node --import tsx scripts/bench/live/main.ts [--quick] [--n 5000 | --max] [--redis]
//        [--seconds 10] [--deadline 900] [--data-dir /dev/shm] [--heap-snapshot] [--cpu-profile]
//        [--check] [--no-saturation]
//
// --quick: N=1,000 and 5 s per rate. --max: as many streams as the fd hard limit allows, less
// headroom. --redis: the relay on Redis rather than its embedded store. --data-dir: where the
// embedded store's folder goes (e.g. tmpfs, to take fsync out of the picture). --heap-snapshot /
// --cpu-profile: relay diagnostics into a temporary folder, for a report, never committed.
// --check: exit 3 when a goal is missed (the goals are printed either way). After the fixed rates,
// each system steps up through higher rates (short phases) until it misses one — a message later
// than 2 s, lost or failed, or a rate the sender could not keep — unless --no-saturation.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../../load-support/error-message.js';
import { withRaisedFdLimit } from '../../load-support/fd-limit.js';
import { REDIS_URL, withRedis } from '../../load-support/redis.js';
import { teardown } from '../../load-support/teardown.js';
import { round } from '../stats.js';
import { goalChecks } from './goals.js';
import { LIVE_RESULTS_FILE, type LiveResults } from './live-results.js';
import { buildProvenance, describeMachine, loadAverage } from './machine.js';
import { measureSystem } from './measure-system.js';
import { readPlan } from './plan.js';
import { printReport } from './report.js';
import { baselineSystem, relaySystem } from './systems.js';
import { prepareWorkload } from './workload.js';

const results: LiveResults = { startedAt: new Date().toISOString() };

function writeResults(): void {
  writeFileSync(LIVE_RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
}

async function abort(reason: string, code: number): Promise<never> {
  console.error(`\nbench-live: ${reason}; tearing down`);
  writeResults();
  await teardown();
  process.exit(code);
}

async function main(): Promise<void> {
  const limit = await withRaisedFdLimit(fileURLToPath(import.meta.url));
  const plan = readPlan(limit.hard);
  const deadline = setTimeout(() => {
    void abort(`overall deadline of ${plan.deadlineMs / 1000} s reached`, 2);
  }, plan.deadlineMs);
  deadline.unref();
  process.on('SIGINT', () => void abort('interrupted', 130));
  process.on('SIGTERM', () => void abort('terminated', 143));

  const machine = describeMachine(limit);
  Object.assign(results, { machine, plan, build: buildProvenance() });
  console.log(
    `fd limit ${limit.soft}/${limit.hard} (soft/hard), ${machine.nproc} CPUs, ` +
      `load ${machine.loadAverageAtStart.join(' ')}; N=${plan.n}, ` +
      `rates ${plan.rates.join(', ')}/s for ${plan.rateSeconds} s`,
  );
  await withRedis((redis) => redis.ping()).catch((error: unknown) => {
    throw new Error(
      `the baseline (and --redis) need Redis at ${REDIS_URL}: ${errorMessage(error)}`,
    );
  });

  const sealing = performance.now();
  const workload = prepareWorkload(plan);
  results.plan = {
    ...plan,
    bodyBytes: workload.bodyBytes,
    envelopeChars: workload.ciphertextChars,
  };
  const sealed = plan.n + workload.rates.flat().length;
  console.log(
    `sealed ${sealed} messages in ${round((performance.now() - sealing) / 1000) ?? '?'} s`,
  );

  results.ours = {};
  const ours = await measureSystem(relaySystem(plan, workload), 0, plan, workload, results.ours);
  console.log(`  relay fd limit ${ours.fdLimit.soft}/${ours.fdLimit.hard}`);
  writeResults();
  results.baseline = {};
  const baseline = await measureSystem(
    baselineSystem(workload),
    1,
    plan,
    workload,
    results.baseline,
  );
  machine.loadAverageAtEnd = loadAverage();
  const goals = goalChecks(plan, ours, baseline, limit.hard);
  results.goals = goals;
  writeResults();
  const allMet = printReport(plan, ours, baseline, machine, goals);
  console.log(`\nwrote ${LIVE_RESULTS_FILE}`);
  await teardown();
  if (plan.check && !allMet) process.exit(3);
}

main().then(
  () => process.exit(0),
  (error: unknown) =>
    abort(error instanceof Error ? (error.stack ?? error.message) : String(error), 1),
);
