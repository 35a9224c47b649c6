#!/usr/bin/env node
// `npm run bench` (issue 5): DeadDrop against the floor of its own stack, in one run on one
// machine — send (tRPC client, single and batched) vs a bare Express 5 + ioredis XADD endpoint at
// equal numbers in flight, poll and long-poll wake-up latency, end to end (seal + send, then
// pollAndDecrypt), crypto vs libsodium-wrappers and tweetnacl, and live delivery (bench-live).
// Loopback only, bounded in time and count; runs the BUILT packages (the npm script builds first).
// Writes bench-results.json (gitignored) and, on a full run, scripts/bench/send-throughput.svg.
//
//   node scripts/bench/main.mjs [--quick] [--seconds 3] [--no-live]
//
// --quick: a ~20-second subset (short cells, 1 KiB end to end only, no live part).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT, teardown } from '../bench-live-processes.mjs';
import { throughputChart } from './chart.mjs';
import { runCryptoBench } from './crypto.mjs';
import { measureEndToEnd, measurePoll, measureWakeUp } from './mailbox.mjs';
import { measureSend, sendCells, sendRatios } from './send.mjs';
import { round } from './stats.mjs';
import {
  REDIS_URL,
  prepareRecipients,
  registerRecipients,
  startBaseline,
  startRelay,
} from './systems.mjs';
import { printReport } from './report.mjs';

const RESULTS_FILE = join(ROOT, 'bench-results.json');
const CHART_FILE = join(ROOT, 'scripts', 'bench', 'send-throughput.svg');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    'no-live': { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const cellSeconds = Number(values.seconds ?? (quick ? 0.5 : 3));
if (!(cellSeconds > 0 && cellSeconds <= 30)) throw new Error('--seconds must be in (0, 30]');

const results = {
  startedAt: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((v) => round(v, 2)),
  },
  plan: { quick, cellSeconds, redis: REDIS_URL },
};

async function step(label, work) {
  const started = performance.now();
  process.stdout.write(`${label} … `);
  const value = await work();
  console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
  return value;
}

async function main() {
  const recipients = await step('sealing envelopes', () => prepareRecipients(quick ? 64 : 256));
  const relays = await step('starting relays and baseline', async () => [
    await startRelay('redis'),
    await startRelay('embedded'),
  ]);
  const baseline = await startBaseline();
  await step('registering recipients', () =>
    Promise.all(relays.map((relay) => registerRecipients(relay, recipients))),
  );

  // Send: the three systems one after another within each cell, so drift hits all alike.
  const send = [];
  await step('send', async () => {
    const baselineDone = new Set();
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
      // The relay with the baseline's load-side cost, to separate server from client work.
      if (!quick && cell.batch === 1 && cell.inFlight >= 16) {
        send.push(
          await measureSend({
            system: relays[0],
            ...cell,
            seconds: cellSeconds,
            recipients,
            plainFetch: true,
          }),
        );
      }
    }
  });
  results.send = { cells: send, ratios: sendRatios(send) };

  results.mailbox = await step('poll, long-poll wake-up, end to end', async () => {
    const out = {};
    for (const relay of relays) {
      out[relay.store] = {
        poll: await measurePoll({ relay, seconds: quick ? 0.5 : 3, maxCalls: 5_000 }),
        wakeUp: await measureWakeUp({ relay, rounds: quick ? 30 : 300, seconds: quick ? 1.5 : 15 }),
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
  results.crypto = await step('crypto', () => runCryptoBench({ seconds: quick ? 0.15 : 2 }));

  if (!quick && !values['no-live']) {
    results.live = await step('live (bench-live --n 2000 --redis)', () => runLive());
  }
  results.machine.loadAverageAtEnd = os.loadavg().map((v) => round(v, 2));
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  // The README shows the chart of a full run; a quick run leaves it alone.
  if (!quick) writeFileSync(CHART_FILE, chart(send));
  printReport(results);
  console.log(`\nwrote ${RESULTS_FILE}${quick ? '' : ` and ${CHART_FILE}`}`);
}

/** Single-call cells only, at the numbers in flight the relays were measured at. */
export function chart(cells) {
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
        .map((c) => ({ x: c.inFlight, y: c.perSecond })),
    })),
  });
}

/** bench-live in a child process (it raises its own fd limit), at a moderate size. */
function runLive() {
  const run = spawnSync(
    process.execPath,
    [join(ROOT, 'scripts', 'bench-live.mjs'), '--redis', '--n', '2000', '--seconds', '5'],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 },
  );
  if (run.status !== 0) return { error: `bench-live exited with ${run.status}` };
  const live = JSON.parse(readFileSync(join(ROOT, 'bench-live-results.json'), 'utf8'));
  return live;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.on('SIGINT', () => {
    teardown().finally(() => process.exit(130));
  });
  main().catch(async (error) => {
    console.error(`\nbench failed: ${error instanceof Error ? error.stack : String(error)}`);
    await teardown();
    process.exit(1);
  });
}
