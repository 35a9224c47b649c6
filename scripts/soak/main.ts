// `npm run soak` (issue "Reliability and abuse resistance"): a bounded load on a relay on Redis
// while things break — steady sends, 1,000 live subscribers, redis-server killed and restarted every
// 30 s, the relay SIGKILLed once — then a check that every acknowledged message reached every live
// subscriber of its mailbox exactly once and is stored exactly once. Loopback only; starts its own
// redis-server (append-only, fsync always) and relay (the BUILT server/dist; the npm script builds
// first); exits 1 if anything acknowledged was lost or duplicated.
//
//   node --import tsx scripts/soak/main.ts [--seconds 120] [--rate 100] [--subscribers 1000]
//        [--per-mailbox 2] [--sdk 20] [--redis-every 30] [--redis-down 2]
//        [--redis-signal alternate|SIGKILL|SIGTERM] [--relay-restart-at S] [--relay-down 1]
//        [--no-relay-restart] [--drain 30] [--max-in-flight 1000]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { withRaisedFdLimit } from '../load-support/fd-limit.js';
import { onTeardown, teardown } from '../load-support/teardown.js';
import { planChaos, runChaos, type ChaosDone } from './chaos.js';
import { readEveryMailbox } from './final-poll.js';
import { createLedger, type Ledger } from './ledger.js';
import { createConnectionEvents, startSubscribers, subscriberLayout } from './live-subscribers.js';
import { createMailboxes } from './mailboxes.js';
import { readPlan } from './plan.js';
import { startProgress } from './progress.js';
import { assertRedisServerInstalled, startOwnRedis } from './redis-server.js';
import { startRelayProcess } from './relay-process.js';
import { failures, printReport } from './report.js';
import { runSends, type SendStats } from './sender.js';
import { createTally } from './tally.js';
import { verifyLive, verifyStored } from './verdicts.js';

async function abort(reason: string, code: number): Promise<never> {
  console.error(`\nsoak: ${reason}; tearing down`);
  await teardown();
  process.exit(code);
}

/** Waits until every acknowledged message reached every subscriber of its mailbox, or `ms` passed. */
async function drain(ledger: Ledger, ms: number): Promise<{ outstanding: number; ms: number }> {
  const started = performance.now();
  let outstanding = ledger.outstanding();
  while (outstanding > 0 && performance.now() - started < ms) {
    await sleep(250);
    outstanding = ledger.outstanding();
  }
  return { outstanding, ms: performance.now() - started };
}

async function main(): Promise<number> {
  const limit = await withRaisedFdLimit(fileURLToPath(import.meta.url));
  const plan = readPlan(limit.soft);
  // Setup, the run, sends still retrying (60 s at most), the drain, the final poll, teardown.
  const deadlineMs = 1000 * (plan.seconds + 300) + plan.drainMs;
  setTimeout(
    () => void abort(`overall deadline of ${deadlineMs / 1000} s reached`, 2),
    deadlineMs,
  ).unref();
  process.on('SIGINT', () => void abort('interrupted', 130));
  process.on('SIGTERM', () => void abort('terminated', 143));

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
  onTeardown(() => {
    rmSync(workDir, { recursive: true, force: true });
  });
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
  const { kinds } = subscribers;
  console.log(
    `  ${plan.subscribers} subscribers streaming (${kinds.raw} raw SSE, ` +
      `${kinds.sdk} SDK) in ${((performance.now() - opening) / 1000).toFixed(1)} s`,
  );

  const errors = createTally();
  const sendStats: SendStats = {
    launched: 0,
    attempts: 0,
    inFlight: 0,
    maxLagMessages: 0,
    planned: 0,
  };
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
    (done): { done: ChaosDone[] } | { error: unknown } => ({ done }),
    (error: unknown) => ({ error }),
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
  const chaosResult = await chaosRun;
  if ('error' in chaosResult) {
    throw chaosResult.error instanceof Error
      ? chaosResult.error
      : new Error(String(chaosResult.error));
  }
  const chaos = chaosResult.done;
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
  printReport({ kinds, sendStats, ledger, live, stored, chaos, events, relay, errors, verdict });
  await teardown();
  return verdict.problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) =>
    abort(error instanceof Error ? (error.stack ?? error.message) : String(error), 1),
);
