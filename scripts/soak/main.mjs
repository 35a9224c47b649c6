#!/usr/bin/env node
// `npm run soak` (issue "Reliability and abuse resistance"): a bounded load on a relay on Redis
// while things break — steady sends, 1,000 live subscribers, redis-server killed and restarted every
// 30 s, the relay SIGKILLed once — then a check that every acknowledged message reached every live
// subscriber of its mailbox exactly once and is stored exactly once. Loopback only; starts its own
// redis-server (append-only, fsync always) and relay (the BUILT server/dist; the npm script builds
// first); exits 1 if anything acknowledged was lost or duplicated.
//
//   node scripts/soak/main.mjs [--seconds 120] [--rate 100] [--subscribers 1000] [--per-mailbox 2]
//                              [--sdk 20] [--redis-every 30] [--redis-down 2]
//                              [--redis-signal alternate|SIGKILL|SIGTERM] [--relay-restart-at S]
//                              [--relay-down 1] [--no-relay-restart] [--drain 30]
//                              [--max-in-flight 1000]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  nofileLimit,
  onTeardown,
  reexecWithRaisedLimit,
  sleep,
  teardown,
} from '../bench-live-processes.mjs';
import { defaultRelayRestartAt, planChaos, runChaos } from './chaos.mjs';
import { readEveryMailbox } from './final-poll.mjs';
import { createLedger, verifyLive, verifyStored } from './ledger.mjs';
import { createConnectionEvents, startSubscribers, subscriberLayout } from './live-subscribers.mjs';
import { createMailboxes } from './mailboxes.mjs';
import { startProgress } from './progress.mjs';
import { assertRedisServerInstalled, startOwnRedis } from './redis-server.mjs';
import { startRelayProcess } from './relay-process.mjs';
import { failures, printReport } from './report.mjs';
import { runSends } from './sender.mjs';
import { createTally } from './tally.mjs';

/** Descriptors besides the streams: sends in flight are added; this covers listeners, files, stdio. */
const FD_HEADROOM = 300;

function numberOption(values, name, fallback, min, max) {
  const value = values[name] === undefined ? fallback : Number(values[name]);
  if (!(Number.isFinite(value) && value >= min && value <= max)) {
    throw new Error(`--${name} must be a number from ${min} to ${max}`);
  }
  return value;
}

function readPlan(fdLimit) {
  const { values } = parseArgs({
    options: {
      'no-relay-restart': { type: 'boolean', default: false },
      ...Object.fromEntries(
        [
          'seconds',
          'rate',
          'subscribers',
          'per-mailbox',
          'sdk',
          'redis-every',
          'redis-down',
          'redis-signal',
          'relay-restart-at',
          'relay-down',
          'drain',
          'max-in-flight',
        ].map((name) => [name, { type: 'string' }]),
      ),
    },
  });
  const seconds = numberOption(values, 'seconds', 120, 5, 3_600);
  const maxInFlight = Math.trunc(numberOption(values, 'max-in-flight', 1_000, 1, 5_000));
  const ceiling = Math.max(fdLimit - FD_HEADROOM - maxInFlight, 1);
  const subscribers = Math.trunc(numberOption(values, 'subscribers', 1_000, 1, ceiling));
  const perMailbox = Math.trunc(numberOption(values, 'per-mailbox', 2, 1, 50));
  const mailboxCount = Math.ceil(subscribers / perMailbox);
  const redisEvery = numberOption(values, 'redis-every', 30, 0, 3_600);
  const redisSignal = values['redis-signal'] ?? 'alternate';
  if (!['alternate', 'SIGKILL', 'SIGTERM'].includes(redisSignal)) {
    throw new Error('--redis-signal must be alternate, SIGKILL or SIGTERM');
  }
  return {
    seconds,
    rate: numberOption(values, 'rate', 100, 1, 1_000),
    subscribers,
    perMailbox,
    mailboxCount,
    sdk: Math.trunc(numberOption(values, 'sdk', Math.min(20, mailboxCount), 0, mailboxCount)),
    redisEvery,
    redisDownMs: 1000 * numberOption(values, 'redis-down', 2, 0, 60),
    redisSignal,
    relayRestartAt: values['no-relay-restart']
      ? -1
      : numberOption(
          values,
          'relay-restart-at',
          redisEvery > 0 ? defaultRelayRestartAt(seconds, redisEvery) : seconds / 2,
          0,
          seconds,
        ),
    relayDownMs: 1000 * numberOption(values, 'relay-down', 1, 0, 60),
    drainMs: 1000 * numberOption(values, 'drain', 30, 1, 600),
    maxInFlight,
  };
}

async function abort(reason, code) {
  console.error(`\nsoak: ${reason}; tearing down`);
  await teardown();
  process.exit(code);
}

/** Waits until every acknowledged message reached every subscriber of its mailbox, or `ms` passed. */
async function drain(ledger, ms) {
  const started = performance.now();
  let outstanding = ledger.outstanding();
  while (outstanding > 0 && performance.now() - started < ms) {
    await sleep(250);
    outstanding = ledger.outstanding();
  }
  return { outstanding, ms: performance.now() - started };
}

async function main() {
  const limit = nofileLimit();
  if (limit.soft < limit.hard && process.env.BENCH_LIVE_REEXEC === undefined) {
    await reexecWithRaisedLimit(fileURLToPath(import.meta.url), limit.hard);
  }
  const plan = readPlan(limit.soft);
  // Setup, the run, sends still retrying (60 s at most), the drain, the final poll, teardown.
  const deadlineMs = 1000 * (plan.seconds + 300) + plan.drainMs;
  setTimeout(
    () => void abort(`overall deadline of ${deadlineMs / 1000} s reached`, 2),
    deadlineMs,
  ).unref();
  process.on('SIGINT', () => abort('interrupted', 130));
  process.on('SIGTERM', () => abort('terminated', 143));

  const redisVersion = assertRedisServerInstalled();
  const chaosPlan = planChaos(plan);
  console.log(
    `soak: ${plan.seconds} s at ${plan.rate} msg/s to ${plan.mailboxCount} mailboxes, ` +
      `${plan.subscribers} live subscribers (${plan.perMailbox} per mailbox, ${plan.sdk} through the SDK); ` +
      `redis-server restarts every ${plan.redisEvery} s (${plan.redisSignal}, down ${plan.redisDownMs / 1000} s), ` +
      (plan.relayRestartAt < 0
        ? 'no relay restart'
        : `relay SIGKILL at ${plan.relayRestartAt} s (down ${plan.relayDownMs / 1000} s)`),
  );
  console.log(
    `  ${redisVersion.split(' ').slice(0, 3).join(' ')}; fd limit ${limit.soft}/${limit.hard}; ` +
      `${os.availableParallelism()} CPUs, load ${os
        .loadavg()
        .map((v) => v.toFixed(2))
        .join(' ')}`,
  );

  const workDir = mkdtempSync(join(os.tmpdir(), 'deaddrop-soak-'));
  onTeardown(() => rmSync(workDir, { recursive: true, force: true }));
  const redis = await startOwnRedis(join(workDir, 'redis'));
  const relay = await startRelayProcess({
    redisUrl: redis.url,
    keyPrefix: `soak-${process.pid}:`,
    dataDir: join(workDir, 'relay-data'),
  });
  console.log(`  redis-server on port ${redis.port}, relay ${relay.url} (pid ${relay.pid()})`);

  const tag = Date.now().toString(36);
  const { mailboxes, sender } = await createMailboxes({
    relay,
    count: plan.mailboxCount,
    sdkCount: plan.sdk,
    home: join(workDir, 'home'),
    tag,
  });
  const layout = subscriberLayout(plan.subscribers, plan.perMailbox);
  const ledger = createLedger({ mailboxCount: mailboxes.length, subscriberMailboxes: layout });
  const events = createConnectionEvents();
  const opening = performance.now();
  const subscribers = await startSubscribers({
    relay,
    mailboxes,
    layout,
    perMailbox: plan.perMailbox,
    ledger,
    events,
  });
  plan.kinds = subscribers.kinds;
  console.log(
    `  ${plan.subscribers} subscribers streaming (${subscribers.kinds.raw} raw SSE, ` +
      `${subscribers.kinds.sdk} SDK) in ${((performance.now() - opening) / 1000).toFixed(1)} s`,
  );

  const errors = createTally();
  const sendStats = { launched: 0, attempts: 0, inFlight: 0, maxLagMessages: 0, planned: 0 };
  const startedAt = performance.now();
  const stopProgress = startProgress(startedAt, { ledger, sendStats, events, relay, errors });
  const stopChaos = new AbortController();
  // Settled here so that a failed restart cannot be an unhandled rejection while sends run.
  const chaosRun = runChaos(chaosPlan, {
    redis,
    relay,
    redisDownMs: plan.redisDownMs,
    relayDownMs: plan.relayDownMs,
    startedAt,
    signal: stopChaos.signal,
  }).then(
    (done) => ({ done }),
    (error) => ({ error }),
  );
  await runSends({
    relay,
    rate: plan.rate,
    seconds: plan.seconds,
    maxInFlight: plan.maxInFlight,
    mailboxes,
    sender,
    tag,
    ledger,
    errors,
    stats: sendStats,
  });
  const settledS = (performance.now() - startedAt) / 1000 - plan.seconds;
  stopChaos.abort();
  const { done: chaos, error: chaosError } = await chaosRun;
  if (chaosError !== undefined) throw chaosError;
  const drained = await drain(ledger, plan.drainMs);
  stopProgress();
  console.log(
    `  sends settled ${settledS.toFixed(1)} s after the last launch; live drain ${drained.outstanding === 0 ? 'complete' : `left ${drained.outstanding} deliveries outstanding`} ` +
      `after ${(drained.ms / 1000).toFixed(1)} s`,
  );
  await subscribers.stop();

  const storedByMailbox = await readEveryMailbox({
    relay,
    mailboxes,
    maxPages: (i) => Math.ceil(ledger.seqsOf(i).length / 100) + 2,
  });
  const live = verifyLive(ledger);
  const stored = verifyStored(ledger, storedByMailbox);
  const verdict = failures({ ledger, live, stored, relay, redis, events });
  printReport({ plan, sendStats, ledger, live, stored, chaos, events, relay, errors, verdict });
  await teardown();
  return verdict.problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => abort(error.stack ?? String(error), 1),
);
