// Measurement arithmetic shared by the benchmark's parts: rounding, percentiles, latency summaries
// and the closed loop the throughput cells run.

/** `value` to `digits` decimals; null for a value that is missing or not finite. */
export function round(value: number | null | undefined, digits = 1): number | null {
  return value === null || value === undefined || !Number.isFinite(value)
    ? null
    : Number(value.toFixed(digits));
}

/** The `p` quantile (0–1) of ascending `sorted`, or null when it is empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  return sorted.length === 0
    ? null
    : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? null);
}

export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

/** p50/p99/max of a list of millisecond latencies. */
export function latencySummary(latencies: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  return {
    samples: sorted.length,
    p50Ms: round(percentile(sorted, 0.5), 2),
    p99Ms: round(percentile(sorted, 0.99), 2),
    maxMs: round(sorted.at(-1), 2),
  };
}

export interface ClosedLoopOptions {
  readonly workers: number;
  readonly seconds: number;
  readonly maxMessages: number;
  /** One request; resolves with how many messages it completed. */
  readonly step: () => Promise<number>;
  readonly warmupSteps?: number;
}

export interface ClosedLoopResult extends LatencySummary {
  readonly messages: number;
  readonly failures: number;
  readonly firstError?: string;
  readonly perSecond: number | null;
}

/**
 * Closed loop: `workers` loops each run `step()` until `seconds` pass or `maxMessages` are done.
 * Returns throughput and latencies (one per message; a batch's messages share its latency).
 */
export async function closedLoop({
  workers,
  seconds,
  maxMessages,
  step,
  warmupSteps = 3,
}: ClosedLoopOptions): Promise<ClosedLoopResult> {
  for (let i = 0; i < warmupSteps; i++) await step();
  const latencies: number[] = [];
  let done = 0;
  let failures = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && done < maxMessages) {
      const t0 = performance.now();
      try {
        const count = await step();
        const latency = performance.now() - t0;
        for (let i = 0; i < count; i++) latencies.push(latency);
        done += count;
      } catch (error) {
        failures++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return {
    messages: done,
    failures,
    ...(firstError === undefined ? {} : { firstError }),
    perSecond: round(done / elapsed, 0),
    ...latencySummary(latencies),
  };
}
