// The table `npm run bench:live` prints: ours next to the baseline, row by row, then the goals.
import { round } from '../stats.js';
import { printGoalChecks, type GoalCheck } from '../goals.js';
import type { LiveSystemResult } from './live-results.js';
import type { MachineDescription } from './machine.js';
import type { LivePlan } from './plan.js';

type Pick = (result: LiveSystemResult) => number | null | undefined;

/** A row: label, how to read it from a system's result, whether to show ours / baseline. */
type Row = readonly [label: string, pick: Pick, withRatio?: boolean];

function tableRows(plan: LivePlan): Row[] {
  const rows: Row[] = [
    ['streams held', (r) => r.held],
    ['RSS per stream (KB)', (r) => r.rssPerStreamKB, true],
    ['connect all (s)', (r) => r.connectSeconds],
    ['idle server CPU share', (r) => r.idleCpu.serverCpuShare],
    ['burst: all delivered (ms)', (r) => r.burst.allDeliveredMs, true],
    ['burst: delivered/s', (r) => r.burst.deliveredPerSecond],
    ['burst: max latency (ms)', (r) => r.burst.maxMs],
  ];
  for (const [index, rate] of plan.rates.entries()) {
    const at = (r: LiveSystemResult): LiveSystemResult['rates'][number] | undefined =>
      r.rates[index];
    rows.push(
      [`${rate}/s p50 (ms)`, (r) => at(r)?.p50Ms],
      [`${rate}/s p99 (ms)`, (r) => at(r)?.p99Ms, true],
      [`${rate}/s max (ms)`, (r) => at(r)?.maxMs],
      [`${rate}/s server CPU share`, (r) => at(r)?.cpu.serverCpuShare],
      [`${rate}/s server CPU/msg (us)`, (r) => at(r)?.cpu.serverCpuUsPerMessage, true],
    );
  }
  if (plan.saturationRates.length > 0) {
    rows.push(
      [`highest rate held (/s)`, (r) => r.saturation.heldRate],
      [`first rate missed (/s)`, (r) => r.saturation.missedRate],
    );
  }
  return rows;
}

export function printReport(
  plan: LivePlan,
  ours: LiveSystemResult,
  baseline: LiveSystemResult,
  machine: MachineDescription,
  goals: readonly GoalCheck[],
): boolean {
  const cell = (value: string | number | null | undefined): string =>
    String(value ?? '-').padStart(12);
  console.log(`\n${''.padEnd(28)}${cell('ours')}${cell('baseline')}${cell('ours/base')}`);
  for (const [label, pick, withRatio] of tableRows(plan)) {
    const a = pick(ours);
    const b = pick(baseline);
    const ratio = withRatio === true && b ? round((a ?? 0) / b, 2) : '';
    console.log(`${label.padEnd(28)}${cell(a)}${cell(b)}${cell(ratio)}`);
  }
  for (const r of [ours, baseline]) {
    const lines = Object.entries(r.serverLog).map(([line, count]) => `${line} x${count}`);
    if (lines.length > 0) console.log(`${r.system} server log: ${lines.join('; ')}`);
  }
  const { loadAverageAtStart, loadAverageAtEnd = [] } = machine;
  console.log(
    `load average ${loadAverageAtStart.join(' ')} at start, ${loadAverageAtEnd.join(' ')} at end`,
  );
  return printGoalChecks(goals);
}
