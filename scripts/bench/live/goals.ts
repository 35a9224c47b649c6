// Issue 3's and issue 17's goals for live delivery, checked against one run: streams held, memory
// per stream (absolute and next to the baseline's), delivery time and nothing lost, p99 latency and
// relay CPU per message next to the baseline's, and a rate the baseline cannot hold that ours does.
import { ratioOf, type GoalCheck } from '../goals.js';
import { round } from '../stats.js';
import type { LiveSystemResult } from './live-results.js';
import type { LivePlan } from './plan.js';
import { HELD_WITHIN_MS } from './saturation.js';

const GOALS = {
  heldShare: 0.95,
  rssPerStreamKB: 50,
  rssPerStreamRatio: 1.0,
  deliveryMs: HELD_WITHIN_MS,
  p99Ratio: 1.5,
  cpuPerMessageRatio: 1.0,
  /** The rate whose relay CPU per message is compared: the highest fixed one. */
  cpuPerMessageAt: 1_000,
};

const ratioText = (ratio: number): string => `${round(ratio, 2) ?? '?'}x`;

/** Ours holds a rate of the saturation search that the baseline missed. */
function saturationCheck(ours: LiveSystemResult, baseline: LiveSystemResult): GoalCheck {
  const oursHeld = ours.saturation.heldRate;
  const baselineMissed = baseline.saturation.missedRate;
  const value =
    `ours held ${oursHeld ?? 'none'}/s (missed ${ours.saturation.missedRate ?? 'none'}), ` +
    `baseline held ${baseline.saturation.heldRate ?? 'none'}/s ` +
    `(missed ${baselineMissed ?? 'none'})`;
  return {
    goal: `holds a rate (every message within ${GOALS.deliveryMs} ms) the baseline cannot`,
    value,
    pass: oursHeld !== null && baselineMissed !== null && oursHeld >= baselineMissed,
  };
}

export function goalChecks(
  plan: LivePlan,
  ours: LiveSystemResult,
  baseline: LiveSystemResult,
  fdHardLimit: number,
): GoalCheck[] {
  const phases = [ours.burst, ...ours.rates];
  const worst = Math.max(...phases.map((phase) => phase.maxMs ?? Infinity));
  const lost = phases.reduce((sum, phase) => sum + phase.undelivered + phase.sendFailures, 0);
  const rssPerStream = ours.rssPerStreamKB ?? Infinity;
  const rssRatio = ratioOf(ours.rssPerStreamKB, baseline.rssPerStreamKB);
  const checks = [
    {
      goal: `>= ${GOALS.heldShare * 100}% of the fd hard limit (${fdHardLimit}) held by one relay`,
      value: `${ours.held} streams = ${round((100 * ours.held) / fdHardLimit) ?? '?'}%`,
      pass: ours.held >= GOALS.heldShare * fdHardLimit,
    },
    {
      goal: `<= ${GOALS.rssPerStreamKB} KB RSS per subscriber`,
      value: `${ours.rssPerStreamKB ?? '?'} KB`,
      pass: rssPerStream <= GOALS.rssPerStreamKB,
    },
    {
      goal: `RSS per idle subscriber <= ${GOALS.rssPerStreamRatio}x baseline`,
      value: `${ratioText(rssRatio)} (${ours.rssPerStreamKB ?? '?'} / ${baseline.rssPerStreamKB ?? '?'} KB)`,
      pass: rssRatio <= GOALS.rssPerStreamRatio,
    },
    {
      goal: `every message delivered within ${GOALS.deliveryMs} ms`,
      value: `max ${worst} ms, ${lost} lost or failed`,
      pass: lost === 0 && worst <= GOALS.deliveryMs,
    },
  ];
  for (const [index, rate] of plan.rates.entries()) {
    const ratio = ratioOf(ours.rates[index]?.p99Ms, baseline.rates[index]?.p99Ms);
    checks.push({
      goal: `p99 at ${rate}/s <= ${GOALS.p99Ratio}x baseline`,
      value: ratioText(ratio),
      pass: ratio <= GOALS.p99Ratio,
    });
  }
  const cpuIndex = plan.rates.indexOf(GOALS.cpuPerMessageAt);
  if (cpuIndex >= 0) {
    const oursUs = ours.rates[cpuIndex]?.cpu.serverCpuUsPerMessage;
    const baselineUs = baseline.rates[cpuIndex]?.cpu.serverCpuUsPerMessage;
    const ratio = ratioOf(oursUs, baselineUs);
    checks.push({
      goal: `relay CPU per message at ${GOALS.cpuPerMessageAt}/s <= ${GOALS.cpuPerMessageRatio}x baseline`,
      value: `${ratioText(ratio)} (${oursUs ?? '?'} / ${baselineUs ?? '?'} us)`,
      pass: ratio <= GOALS.cpuPerMessageRatio,
    });
  }
  if (plan.saturationRates.length > 0) checks.push(saturationCheck(ours, baseline));
  return checks;
}
