// Issue 3's goals for live delivery, checked against one run: streams held, memory per stream,
// delivery time and nothing lost, p99 latency next to the baseline's.
import { ratioOf, type GoalCheck } from '../goals.js';
import { round } from '../stats.js';
import type { LiveSystemResult } from './live-results.js';
import type { LivePlan } from './plan.js';

const GOALS = { heldShare: 0.95, rssPerStreamKB: 50, deliveryMs: 2_000, p99Ratio: 1.5 };

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
      goal: `every message delivered within ${GOALS.deliveryMs} ms`,
      value: `max ${worst} ms, ${lost} lost or failed`,
      pass: lost === 0 && worst <= GOALS.deliveryMs,
    },
  ];
  for (const [index, rate] of plan.rates.entries()) {
    const ratio = ratioOf(ours.rates[index]?.p99Ms, baseline.rates[index]?.p99Ms);
    checks.push({
      goal: `p99 at ${rate}/s <= ${GOALS.p99Ratio}x baseline`,
      value: `${round(ratio, 2) ?? '?'}x`,
      pass: ratio <= GOALS.p99Ratio,
    });
  }
  return checks;
}
