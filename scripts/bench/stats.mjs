// Small measurement helpers shared by the benchmark's parts.

export const round = (value, digits = 1) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? null
    : Number(value.toFixed(digits));

export function percentile(sorted, p) {
  return sorted.length === 0
    ? null
    : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** p50/p99/max of a list of millisecond latencies. */
export function latencySummary(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    samples: sorted.length,
    p50Ms: round(percentile(sorted, 0.5), 2),
    p99Ms: round(percentile(sorted, 0.99), 2),
    maxMs: round(sorted.at(-1), 2),
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Closed loop: `workers` loops each run `step()` (which resolves with how many messages it
 * completed) until `seconds` pass or `maxMessages` are done. Returns throughput and latencies
 * (one per message; a batch's messages share its latency).
 */
export async function closedLoop({ workers, seconds, maxMessages, step, warmupSteps = 3 }) {
  for (let i = 0; i < warmupSteps; i++) await step();
  const latencies = [];
  let done = 0;
  let failures = 0;
  let firstError;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
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
