// Send → deliver latency for one phase of `npm run bench:live`: each send (timed from just before
// its request) paired with its SSE arrival by mailbox and id.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../load-support/error-message.js';
import { percentile, round } from '../stats.js';

export interface DeliverySummary {
  readonly sent: number;
  readonly sendFailures: number;
  readonly firstSendError: string | undefined;
  readonly delivered: number;
  readonly undelivered: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
}

export interface DeliveryTracker {
  /** A send answered with its id; `key` is `<mailbox index> <id>`. */
  sent(key: string, t0: number): void;
  failed(error: unknown): void;
  arrived(key: string, at: number): void;
  /** Waits until every answered send was delivered, or `timeoutMs`. */
  settle(timeoutMs: number): Promise<void>;
  lastArrival(): number;
  summary(): DeliverySummary;
}

/** Either side of a pair may come first: the server can push the event before the send's answer returns. */
export function createDeliveryTracker(): DeliveryTracker {
  const sends = new Map<string, number>();
  const early = new Map<string, number>();
  const latencies: number[] = [];
  let sent = 0;
  let failed = 0;
  let firstError: string | undefined;
  let lastArrival = 0;
  const record = (latency: number, at: number): void => {
    latencies.push(latency);
    if (at > lastArrival) lastArrival = at;
  };
  return {
    sent(key, t0) {
      sent++;
      const at = early.get(key);
      if (at === undefined) sends.set(key, t0);
      else {
        early.delete(key);
        record(at - t0, at);
      }
    },
    failed(error) {
      failed++;
      firstError ??= errorMessage(error);
    },
    arrived(key, at) {
      const t0 = sends.get(key);
      if (t0 === undefined) early.set(key, at);
      else {
        sends.delete(key);
        record(at - t0, at);
      }
    },
    async settle(timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (sends.size > 0 && performance.now() < deadline) await sleep(10);
    },
    lastArrival: () => lastArrival,
    summary() {
      const sorted = Float64Array.from(latencies).sort();
      return {
        sent,
        sendFailures: failed,
        firstSendError: firstError,
        delivered: latencies.length,
        undelivered: sends.size,
        p50Ms: round(percentile(sorted, 0.5), 2),
        p99Ms: round(percentile(sorted, 0.99), 2),
        maxMs: round(sorted.at(-1), 2),
      };
    },
  };
}
