// How a crypto loop is timed: checked for correctness once, warmed up, then run until a time bound
// or a count bound, whichever comes first.

const MAX_COUNT = 200_000;
const WARMUP_COUNT = 20;

/** ops/s of `fn`: warm-up, then until `seconds` elapse or MAX_COUNT runs, whichever first. */
export function measureRate(fn: () => unknown, seconds: number): number {
  const warmupUntil = performance.now() + Math.min(250, seconds * 100);
  for (let i = 0; i < WARMUP_COUNT && (i === 0 || performance.now() < warmupUntil); i++) fn();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let count = 0;
  while (count < MAX_COUNT && performance.now() < deadline) {
    fn();
    count++;
  }
  return Math.round(count / ((performance.now() - started) / 1000));
}

/** Stops the benchmark when a loop would time something that does not work. */
export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`crypto bench: ${what} failed its correctness check`);
}
