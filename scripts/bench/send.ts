// The send benchmark: DeadDrop `send` through the real tRPC client (single calls, and httpBatchLink
// batches) and as raw requests in tRPC's and the plain API's format, against the baseline's bare
// POST /send (raw requests too), closed loop at equal numbers of messages in flight.
import { cpuMs } from '../load-support/proc-readings.js';
import { redisCpuMs } from '../load-support/redis.js';
import type { GoalCheck } from './goals.js';
import { closedLoop, round, type ClosedLoopResult } from './stats.js';
import { rawConnectionPool, rawJsonPost } from './raw-http.js';
import { trpcClient, type BenchSystem, type Recipient } from './systems.js';

export interface SendCell {
  readonly batch: number;
  readonly inFlight: number;
}

export interface SendResult extends ClosedLoopResult, SendCell {
  readonly system: string;
  readonly serverCpuUsPerMessage: number | null;
  /** The shared Redis's CPU per message (null for the embedded store, whose cost is the server's). */
  readonly redisCpuUsPerMessage: number | null;
  readonly clientCpuUsPerMessage: number | null;
}

export interface SendRatio extends SendCell {
  readonly system: string;
  readonly throughputRatio: number | null;
  readonly p99Ratio: number | null;
}

/** How the load side reaches a relay: its SDK, or raw requests in tRPC's or the plain API's format. */
export type SendRoute = 'sdk' | 'trpc' | 'plain';

const ROUTE_LABEL: ReadonlyMap<SendRoute, string> = new Map([
  ['sdk', ''],
  ['trpc', ', tRPC wire'],
  ['plain', ', plain API'],
]);

/** Each recipient's request, serialised before any timing, for a raw route. */
function rawRequests(
  system: BenchSystem,
  route: Exclude<SendRoute, 'sdk'>,
  recipients: readonly Recipient[],
): Buffer[] {
  const { host } = new URL(system.url);
  return recipients.map(({ agentId, ciphertext }) =>
    system.name === 'baseline'
      ? rawJsonPost(host, '/send', JSON.stringify({ to: agentId, ciphertext }))
      : route === 'trpc'
        ? rawJsonPost(host, '/trpc/send', JSON.stringify({ json: { to: agentId, ciphertext } }))
        : rawJsonPost(host, '/v1/send', JSON.stringify({ to: agentId, ciphertext })),
  );
}

export interface SendCellRun extends SendCell {
  readonly system: BenchSystem;
  readonly seconds: number;
  readonly recipients: readonly Recipient[];
  /** The baseline is always driven raw (it has no SDK); 'sdk' is the default for the relay. */
  readonly route?: SendRoute;
}

/**
 * One cell of the matrix. `inFlight` messages are outstanding at any time: `inFlight` workers
 * sending one at a time, or `inFlight / batch` workers each sending `batch` calls at once (which
 * httpBatchLink turns into one request). The baseline has no batch endpoint: it is measured with
 * single requests at the same number in flight, on raw connections like the relay's raw routes.
 */
export async function measureSend({
  system,
  batch,
  inFlight,
  seconds,
  recipients,
  route = system.name === 'baseline' ? 'trpc' : 'sdk',
}: SendCellRun): Promise<SendResult> {
  if (recipients.length === 0) throw new Error('no recipients');
  const perRequest = route === 'sdk' ? batch : 1;
  const workers = Math.max(1, Math.round(inFlight / perRequest));
  let next = 0;
  const pick = (): number => next++ % recipients.length;
  let sendOne: (index: number) => Promise<unknown>;
  let close = (): void => undefined;
  if (route === 'sdk') {
    const client = trpcClient(system.url, batch);
    sendOne = (index) => {
      const recipient = recipients[index];
      if (recipient === undefined) throw new Error('no such recipient');
      return client.send.mutate({ to: recipient.agentId, ciphertext: recipient.ciphertext });
    };
  } else {
    const requests = rawRequests(system, route, recipients);
    const pool = await rawConnectionPool(Number(new URL(system.url).port), workers);
    sendOne = (index) => {
      const request = requests[index];
      if (request === undefined) throw new Error('no such request');
      return pool.send(request);
    };
    close = () => {
      pool.close();
    };
  }
  const redisBefore = system.onSharedRedis ? await redisCpuMs() : null;
  const serverBefore = cpuMs(system.pid).total;
  const benchBefore = process.cpuUsage();
  const result = await closedLoop({
    workers,
    seconds,
    maxMessages: 200_000,
    step: async () => {
      await Promise.all(Array.from({ length: perRequest }, () => sendOne(pick())));
      return perRequest;
    },
  }).finally(close);
  // CPU per message on each side: whether a difference is the server's work or the load side's.
  const serverUs = (1000 * (cpuMs(system.pid).total - serverBefore)) / result.messages;
  const bench = process.cpuUsage(benchBefore);
  const redisUs =
    redisBefore === null ? null : (1000 * ((await redisCpuMs()) - redisBefore)) / result.messages;
  const clientUs = (bench.user + bench.system) / result.messages;
  return {
    system:
      system.name === 'baseline' ? system.name : `${system.name}${ROUTE_LABEL.get(route) ?? ''}`,
    batch: perRequest,
    inFlight: workers * perRequest,
    ...result,
    serverCpuUsPerMessage: round(serverUs, 0),
    redisCpuUsPerMessage: redisUs === null ? null : round(redisUs, 0),
    clientCpuUsPerMessage: round(clientUs, 0),
  };
}

/** The matrix cells for a plan. */
export function sendCells(quick: boolean): SendCell[] {
  const singles = quick ? [1, 16, 64] : [1, 4, 16, 64];
  return [
    ...singles.map((inFlight) => ({ batch: 1, inFlight })),
    { batch: 10, inFlight: 60 },
    { batch: 100, inFlight: 100 },
  ];
}

/** ours / baseline at the same number in flight (throughput, p99). */
export function sendRatios(results: readonly SendResult[]): SendRatio[] {
  const baseline = new Map(
    results.filter((r) => r.system === 'baseline').map((r) => [r.inFlight, r]),
  );
  const ratio = (a: number | null, b: number | null | undefined): number | null =>
    a === null || b === null || b === undefined ? null : round(a / b, 2);
  return results
    .filter((r) => r.system !== 'baseline')
    .map((r) => {
      const base = baseline.get(r.inFlight);
      return {
        system: r.system,
        batch: r.batch,
        inFlight: r.inFlight,
        throughputRatio: ratio(r.perSecond, base?.perSecond),
        p99Ratio: ratio(r.p99Ms, base?.p99Ms),
      };
    });
}

/**
 * Issue 17's send goal: single messages over plain HTTP (raw requests in tRPC's and in the plain
 * API's format), at 16 and 64 in flight, ≥ 2× the baseline's msgs/s with a p99 no worse.
 */
export function sendGoalChecks(ratios: readonly SendRatio[]): GoalCheck[] {
  return ratios
    .filter(
      (r) =>
        r.batch === 1 &&
        (r.inFlight === 16 || r.inFlight === 64) &&
        (r.system.endsWith(ROUTE_LABEL.get('trpc') ?? '?') ||
          r.system.endsWith(ROUTE_LABEL.get('plain') ?? '?')),
    )
    .map((r) => ({
      goal: `send, ${r.system}, ${r.inFlight} in flight: >= 2x the baseline's msgs/s, p99 <= 1x`,
      value: `${r.throughputRatio ?? '?'}x msgs/s, p99 ${r.p99Ratio ?? '?'}x`,
      pass: (r.throughputRatio ?? 0) >= 2 && (r.p99Ratio ?? Infinity) <= 1,
    }));
}
