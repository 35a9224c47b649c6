// The two kinds of send phase `npm run bench:live` runs against N held subscribers: a burst of one
// message to every mailbox, and steady open-loop rates to random mailboxes.
import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { postJson } from '../../load-support/http-json.js';
import { runPool } from '../../load-support/run-pool.js';
import { round } from '../stats.js';
import { startCpuMeter, type CpuShares } from './cpu-meter.js';
import {
  createDeliveryTracker,
  type DeliveryTracker,
  type DeliverySummary,
} from './delivery-tracker.js';
import type { SubscriberPool } from './subscriber-pool.js';
import type { LiveServer, LiveSystem } from './systems.js';
import type { RatedMessage } from './workload.js';

export const SEND_CONCURRENCY = 64;
/** How long a fixed phase waits, after its last send was answered, for the remaining deliveries. */
const DRAIN_MS = 30_000;

export interface PhaseContext {
  readonly system: LiveSystem;
  readonly server: LiveServer;
  readonly sender: http.Agent;
  readonly pool: SubscriberPool;
}

export interface BurstResult extends DeliverySummary {
  readonly sendMs: number | null;
  readonly deliveredPerSecond: number | null;
  readonly allDeliveredMs: number | null;
  readonly cpu: CpuShares;
}

export interface RateResult extends DeliverySummary {
  readonly rate: number;
  readonly achievedRate: number | null;
  readonly cpu: CpuShares;
}

/** Sends one message and hands its timing to the tracker. */
async function sendOne(
  { system, server, sender }: PhaseContext,
  tracker: DeliveryTracker,
  to: number,
  ciphertext: string,
): Promise<void> {
  const { path, body } = system.send(to, ciphertext);
  const t0 = performance.now();
  try {
    const answer = await postJson({
      host: server.host,
      port: server.port,
      path,
      body,
      agent: sender,
    });
    tracker.sent(`${to} ${system.sentId(answer)}`, t0);
  } catch (error) {
    tracker.failed(error);
  }
}

/** One message to every mailbox (SEND_CONCURRENCY in flight): time until all arrived. */
export async function measureBurst(
  context: PhaseContext,
  messages: readonly string[],
): Promise<BurstResult> {
  const tracker = (context.pool.tracker = createDeliveryTracker());
  const cpu = startCpuMeter(context.server.pid);
  const started = performance.now();
  await runPool(messages.length, SEND_CONCURRENCY, (i) =>
    sendOne(context, tracker, i, messages[i] ?? ''),
  );
  const sendMs = performance.now() - started;
  await tracker.settle(DRAIN_MS);
  const summary = tracker.summary();
  const deliveredMs = tracker.lastArrival() - started;
  return {
    ...summary,
    sendMs: round(sendMs),
    deliveredPerSecond: round((1000 * summary.delivered) / deliveredMs),
    allDeliveredMs: summary.undelivered === 0 ? round(deliveredMs) : null,
    cpu: cpu(summary.delivered),
  };
}

/**
 * An open-loop sender at a steady rate to random subscribed mailboxes. Sends do not wait for
 * earlier ones, so a server that falls behind shows as growing latency, not as a slower sender.
 */
export async function measureRate(
  context: PhaseContext,
  rate: number,
  messages: readonly RatedMessage[],
  drainMs = DRAIN_MS,
): Promise<RateResult> {
  const tracker = (context.pool.tracker = createDeliveryTracker());
  const inflight = new Set<Promise<void>>();
  const cpu = startCpuMeter(context.server.pid);
  const started = performance.now();
  let next = 0;
  while (next < messages.length) {
    const elapsedMs = performance.now() - started;
    const due = Math.min(messages.length, Math.floor((elapsedMs * rate) / 1000) + 1);
    for (const { to, ciphertext } of messages.slice(next, due)) {
      const sending = sendOne(context, tracker, to, ciphertext);
      inflight.add(sending);
      void sending.then(() => inflight.delete(sending));
    }
    next = Math.max(next, due);
    await sleep(1);
  }
  const sendSeconds = (performance.now() - started) / 1000;
  await Promise.all(inflight);
  await tracker.settle(drainMs);
  const summary = tracker.summary();
  const achievedRate = round(messages.length / sendSeconds);
  return { rate, achievedRate, ...summary, cpu: cpu(summary.delivered) };
}
