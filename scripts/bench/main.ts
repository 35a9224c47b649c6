// `npm run bench` (issue 5): DeadDrop against the floor of its own stack, in one run on one
// machine — send (tRPC client, single and batched) vs a bare Express 5 + ioredis XADD endpoint at
// equal numbers in flight, one sendMany to 100 recipients vs 100 sends (group send), poll and
// long-poll wake-up latency, end to end (seal + send, then pollAndDecrypt), crypto vs
// libsodium-wrappers and tweetnacl, and live delivery (bench:live).
// Loopback only, bounded in time and count; runs the BUILT packages (the npm script builds first).
// Webhooks: sends to mailboxes with a wake-up hook vs without (PROTOCOL §9). Forward secrecy:
// sendMessage sealing to a one-time prekey (v2) vs falling back to v1 (PROTOCOL §10).
// Writes bench-results.json (gitignored) and, on a full run, scripts/bench/send-throughput.svg and
// scripts/bench/crypto-curve.svg.
//
//   node --import tsx scripts/bench/main.ts [--quick] [--seconds 3] [--no-live]
//                                  [--only send|group-send|webhook|forward-secrecy|wake-up]
//                                  [--check]
//
// --quick: a ~20-second subset (short cells, 1 KiB end to end only, no live part).
// --only send: the send matrix alone (both stores and the baseline).
// --only group-send: the group-send comparison alone (both stores, `--seconds` per mode).
// --only webhook: sends with and without a wake-up hook alone (both stores).
// --only forward-secrecy: sendMessage v2 vs v1 alone (both stores, `--seconds` per arm and number
// in flight, on relays of its own), with seal+open v2 vs v1 at 1 KiB.
// --only wake-up: long-poll wake-up alone: the floor (a bare node:http held GET) and the relays
// through the SDK and the plain HTTP API, interleaved round by round (both stores).
// --check: exit 3 when a goal (issue 17; printed at the end either way) is missed.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../load-support/child-processes.js';
import { REDIS_URL } from '../load-support/redis.js';
import { teardown } from '../load-support/teardown.js';
import { benchGoalChecks } from './bench-goals.js';
import type { BenchMachine, BenchResults, LivePart, MailboxMeasures } from './bench-results.js';
import { throughputChart } from './chart.js';
import { printGoalChecks } from './goals.js';
import { runCryptoBench } from './crypto/run-crypto-bench.js';
import { CRYPTO_CHART_FILE, sealOpenCurveChart } from './crypto/seal-open-curve.js';
import { measureForwardSecrecy, type ForwardSecrecyResults } from './forward-secrecy.js';
import { measureGroupSend, type GroupSendResult } from './group-send.js';
import { measureWebhookSend, startNoticeReceiver, type WebhookSendResult } from './webhook-send.js';
import { LIVE_RESULTS_FILE, type LiveResults } from './live/live-results.js';
import { measureEndToEnd, measurePoll } from './mailbox.js';
import { printReport } from './report.js';
import { measureSend, sendCells, sendRatios, type SendResult } from './send.js';
import { round } from './stats.js';
import { measureWakeUp, type WakeUpResults } from './wake-up.js';
import {
  prepareRecipients,
  registerRecipients,
  startBaselineSystem,
  startRelay,
} from './systems.js';

const RESULTS_FILE = join(ROOT, 'bench-results.json');
const CHART_FILE = join(ROOT, 'scripts', 'bench', 'send-throughput.svg');
const LIVE_ENTRY = join(ROOT, 'scripts', 'bench', 'live', 'main.ts');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    'no-live': { type: 'boolean', default: false },
    only: { type: 'string' },
    check: { type: 'boolean', default: false },
  },
});
const ONLY_PARTS = ['send', 'group-send', 'webhook', 'forward-secrecy', 'wake-up'] as const;
const only = ONLY_PARTS.find((part) => part === values.only);
if (values.only !== undefined && only === undefined)
  throw new Error(`--only takes one of: ${ONLY_PARTS.join(', ')}`);
const quick = values.quick;
const cellSeconds = Number(values.seconds ?? (quick ? 0.5 : 3));
if (!(cellSeconds > 0 && cellSeconds <= 30)) throw new Error('--seconds must be in (0, 30]');

const loadAverage = (): (number | null)[] => os.loadavg().map((v) => round(v, 2));

async function step<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  process.stdout.write(`${label} … `);
  const value = await work();
  console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
  return value;
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const machine: BenchMachine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverageAtStart: loadAverage(),
  };
  const forwardSecrecy = (sealOpenSeconds?: number): Promise<ForwardSecrecyResults> =>
    step('forward secrecy (sendMessage v2 vs v1)', () =>
      measureForwardSecrecy({
        seconds: cellSeconds,
        ...(sealOpenSeconds === undefined ? {} : { sealOpenSeconds }),
      }),
    );
  if (only === 'forward-secrecy') {
    // Relays of its own, one store at a time: none of the shared setup below. Seal+open here too,
    // the crypto part that has it in a full run not running.
    const sealOpenSeconds = Math.min(2, Math.max(0.5, cellSeconds / 3));
    const results: BenchResults = {
      startedAt,
      machine,
      plan: { quick, cellSeconds, redis: REDIS_URL, only },
      groupSend: [],
      forwardSecrecy: await forwardSecrecy(sealOpenSeconds),
    };
    await finishOnly(results);
    return;
  }
  // At least the 100 recipients of the group-send part.
  const recipients = await step('sealing envelopes', () =>
    Promise.resolve(
      prepareRecipients(quick || (only !== undefined && only !== 'send') ? 100 : 256),
    ),
  );
  // The webhook part's own recipients: hooks set on half of them must not touch the other parts.
  const hookRecipients = prepareRecipients(100);
  const receiver = await startNoticeReceiver();
  // Loopback hooks are refused unless allow-listed (PROTOCOL §9's SSRF rule).
  const relayEnv = { DEADDROP_WEBHOOK_ALLOWED_HOSTS: receiver.hostPort };
  const relays = await step('starting relays', async () => [
    await startRelay('redis', relayEnv),
    await startRelay('embedded', relayEnv),
  ]);
  await step('registering recipients', () =>
    Promise.all(
      relays.map(async (relay) => {
        await registerRecipients(relay, recipients);
        await registerRecipients(relay, hookRecipients);
      }),
    ),
  );
  const groupSend = (): Promise<GroupSendResult[]> =>
    step('group send (sendMany of 100 vs 100 sends)', async () => {
      const out: GroupSendResult[] = [];
      for (const relay of relays)
        out.push(
          await measureGroupSend({
            relay,
            recipients: recipients.slice(0, 100),
            seconds: cellSeconds,
            maxRounds: 500,
          }),
        );
      return out;
    });
  const webhook = (): Promise<WebhookSendResult[]> =>
    step('webhooks (sends with a hook vs without)', async () => {
      const out: WebhookSendResult[] = [];
      for (const relay of relays)
        out.push(
          await measureWebhookSend({
            relay,
            recipients: hookRecipients,
            receiver,
            seconds: cellSeconds * 2,
          }),
        );
      return out;
    });
  const wakeUp = (): Promise<WakeUpResults> =>
    step('long-poll wake-up (floor, SDK and plain HTTP, interleaved)', () =>
      measureWakeUp({
        relays,
        rounds: quick ? 30 : 200,
        seconds: quick ? 5 : Math.max(20, cellSeconds * 5),
      }),
    );
  if (only !== undefined && only !== 'send') {
    const results: BenchResults = {
      startedAt,
      machine,
      plan: { quick, cellSeconds, redis: REDIS_URL, only },
      groupSend: only === 'group-send' ? await groupSend() : [],
      ...(only === 'webhook' ? { webhook: await webhook() } : {}),
      ...(only === 'wake-up' ? { wakeUp: await wakeUp() } : {}),
    };
    await finishOnly(results);
    return;
  }
  const baseline = await startBaselineSystem();

  // Send: the three systems one after another within each cell, so drift hits all alike.
  const send: SendResult[] = [];
  await step('send', async () => {
    const baselineDone = new Set<number>();
    for (const cell of sendCells(quick)) {
      if (!baselineDone.has(cell.inFlight)) {
        baselineDone.add(cell.inFlight);
        send.push(
          await measureSend({
            system: baseline,
            batch: 1,
            inFlight: cell.inFlight,
            seconds: cellSeconds,
            recipients,
          }),
        );
      }
      for (const relay of relays) {
        send.push(await measureSend({ system: relay, ...cell, seconds: cellSeconds, recipients }));
      }
      // Issue 17's goal cells: raw requests, the baseline's load-side cost, in both formats.
      if (cell.batch === 1 && cell.inFlight >= 16) {
        for (const relay of relays)
          for (const route of ['trpc', 'plain'] as const)
            send.push(
              await measureSend({
                system: relay,
                ...cell,
                seconds: cellSeconds,
                recipients,
                route,
              }),
            );
      }
    }
  });

  if (only === 'send') {
    await finishOnly({
      startedAt,
      machine,
      plan: { quick, cellSeconds, redis: REDIS_URL, only },
      send: { cells: send, ratios: sendRatios(send) },
      groupSend: [],
    });
    return;
  }
  const group = await groupSend();
  const webhooks = await webhook();
  const fs = await forwardSecrecy();

  const wakeUps = await wakeUp();
  const mailbox = await step('poll, end to end', async () => {
    const out: Record<string, MailboxMeasures> = {};
    for (const relay of relays) {
      out[relay.store] = {
        poll: await measurePoll({ relay, seconds: quick ? 0.5 : 3, maxCalls: 5_000 }),
        endToEnd: [
          await measureEndToEnd({
            relay,
            bodyBytes: 1024,
            count: quick ? 100 : 1_000,
            concurrency: 8,
            seconds: quick ? 1.5 : 10,
          }),
          ...(quick
            ? []
            : [
                await measureEndToEnd({
                  relay,
                  bodyBytes: 64 * 1024,
                  count: 200,
                  concurrency: 8,
                  seconds: 10,
                }),
              ]),
        ],
      };
    }
    return out;
  });

  await teardown();
  const crypto = await step('crypto', () => runCryptoBench({ seconds: quick ? 0.15 : 2 }));

  const live =
    !quick && !values['no-live']
      ? await step('live (bench:live --n 2000 --redis)', () => Promise.resolve(runLive()))
      : undefined;
  machine.loadAverageAtEnd = loadAverage();
  const results: BenchResults = {
    startedAt,
    machine,
    plan: { quick, cellSeconds, redis: REDIS_URL },
    send: { cells: send, ratios: sendRatios(send) },
    groupSend: group,
    webhook: webhooks,
    forwardSecrecy: fs,
    mailbox,
    wakeUp: wakeUps,
    crypto,
    ...(live === undefined ? {} : { live }),
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  // The README shows the chart of a full run; a quick run leaves it alone.
  if (!quick) {
    writeFileSync(CHART_FILE, chart(send));
    writeFileSync(CRYPTO_CHART_FILE, sealOpenCurveChart(crypto.curve));
  }
  printReport(results);
  console.log(`\nwrote ${RESULTS_FILE}${quick ? '' : `, ${CHART_FILE} and ${CRYPTO_CHART_FILE}`}`);
  checkGoals(results);
}

/** The goals of the parts that ran; with `--check`, exit 3 when one is missed. */
function checkGoals(results: BenchResults): void {
  const met = printGoalChecks(benchGoalChecks(results));
  if (values.check && !met) process.exit(3);
}

/** The end of a run of one part: teardown, results file, report. */
async function finishOnly(results: BenchResults): Promise<void> {
  await teardown();
  results.machine.loadAverageAtEnd = loadAverage();
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  printReport(results);
  console.log(`\nwrote ${RESULTS_FILE}`);
  checkGoals(results);
}

/** Single-call cells only, at the numbers in flight the relays were measured at. */
function chart(cells: readonly SendResult[]): string {
  const relayXs = new Set(
    cells.filter((c) => c.batch === 1 && c.system !== 'baseline').map((c) => c.inFlight),
  );
  const singles = cells.filter((c) => c.batch === 1 && relayXs.has(c.inFlight));
  const names = [...new Set(singles.map((c) => c.system))];
  return throughputChart({
    title: 'send: messages/s vs messages in flight (single calls)',
    xLabel: 'messages in flight',
    yLabel: 'messages / s',
    series: names.map((name) => ({
      name,
      points: singles
        .filter((c) => c.system === name)
        .map((c) => ({ x: c.inFlight, y: c.perSecond ?? 0 })),
    })),
  });
}

/** bench:live in a child process (it raises its own fd limit), at a moderate size. */
function runLive(): LivePart {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', LIVE_ENTRY, '--redis', '--n', '2000', '--seconds', '5'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 },
  );
  if (run.status !== 0)
    return { error: `bench-live exited with ${run.status ?? run.signal ?? '?'}` };
  return JSON.parse(readFileSync(LIVE_RESULTS_FILE, 'utf8')) as LiveResults;
}

process.on('SIGINT', () => {
  void teardown().finally(() => process.exit(130));
});
main().catch(async (error: unknown) => {
  console.error(
    `\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  await teardown();
  process.exit(1);
});
