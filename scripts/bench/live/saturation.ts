// The saturation search of `npm run bench:live`: after the fixed rates, a system steps up through
// higher rates in short phases and stops at the first it cannot hold. Held means what the delivery
// goal asks of the fixed rates — every message delivered within 2 s, none lost, no send failed —
// and that the open-loop sender kept the rate (a server that answers slowly holds back its sends).
import type { RatedMessage } from './workload.js';
import { measureRate, type PhaseContext, type RateResult } from './send-phases.js';

export const HELD_WITHIN_MS = 2_000;
/** The sender reached at least this share of the asked rate. */
const RATE_KEPT_SHARE = 0.95;
/** A missed phase's stragglers are not waited for long: past 2 s they already missed. */
const SATURATION_DRAIN_MS = 5_000;

export interface SaturationResult {
  /** The phases run, ascending; the last one was missed unless every rate was held. */
  readonly phases: readonly RateResult[];
  /** The highest rate held, null when not even the first was. */
  readonly heldRate: number | null;
  /** The first rate missed, null when every rate of the search was held. */
  readonly missedRate: number | null;
}

function rateHeld(phase: RateResult): boolean {
  return (
    phase.sendFailures === 0 &&
    phase.undelivered === 0 &&
    phase.maxMs !== null &&
    phase.maxMs <= HELD_WITHIN_MS &&
    (phase.achievedRate ?? 0) >= RATE_KEPT_SHARE * phase.rate
  );
}

/** Steps through `rates` (ascending, `messages[i]` for each) until one is missed. */
export async function measureSaturation(
  context: PhaseContext,
  rates: readonly number[],
  messages: readonly (readonly RatedMessage[])[],
  report: (phase: RateResult, held: boolean) => void,
): Promise<SaturationResult> {
  const phases: RateResult[] = [];
  let heldRate: number | null = null;
  for (const [index, rate] of rates.entries()) {
    const phase = await measureRate(context, rate, messages[index] ?? [], SATURATION_DRAIN_MS);
    phases.push(phase);
    const held = rateHeld(phase);
    report(phase, held);
    if (!held) return { phases, heldRate, missedRate: rate };
    heldRate = rate;
  }
  return { phases, heldRate, missedRate: null };
}
