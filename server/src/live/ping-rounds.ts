// Keep-alive pings for tens of thousands of idle streams: one timer for all of them, and each tick
// pings one slice, so no event-loop turn writes to every stream at once (19,500 writes in one turn
// stall every delivery behind them for a few hundred ms).

export interface PingRounds<T> {
  add(stream: T): void;
  delete(stream: T): void;
  close(): void;
}

/** Every stream is pinged once per `intervalMs`, by one of `slices` evenly spaced ticks. */
export function createPingRounds<T>(
  intervalMs: number,
  slices: number,
  ping: (stream: T) => void,
): PingRounds<T> {
  const buckets = Array.from({ length: slices }, () => new Set<T>());
  const bucketOf = new Map<T, Set<T>>();
  let next = 0;
  let tick = 0;
  const timer = setInterval(
    () => {
      const bucket = buckets[tick++ % slices];
      if (bucket !== undefined) for (const stream of bucket) ping(stream);
    },
    Math.max(1, Math.floor(intervalMs / slices)),
  );
  timer.unref();
  return {
    add(stream) {
      const bucket = buckets[next++ % slices];
      if (bucket === undefined) return;
      bucket.add(stream);
      bucketOf.set(stream, bucket);
    },
    delete(stream) {
      bucketOf.get(stream)?.delete(stream);
      bucketOf.delete(stream);
    },
    close() {
      clearInterval(timer);
    },
  };
}
