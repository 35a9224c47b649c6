// The send benchmark: DeadDrop `send` through the real tRPC client (single calls, and httpBatchLink
// batches) against the baseline's bare POST /send, closed loop at equal numbers of messages in flight.
import { cpuMs } from '../load-support/proc-readings.js';
import type { GoalCheck } from './goals.js';
import { closedLoop, round, type ClosedLoopResult } from './stats.js';
import { trpcClient, type BenchSystem, type Recipient } from './systems.js';

type SendOne = (recipient: Recipient) => Promise<unknown>;

export interface SendCell {
  readonly batch: number;
  readonly inFlight: number;
}

export interface SendResult extends ClosedLoopResult, SendCell {
  readonly system: string;
  readonly serverCpuUsPerMessage: number | null;
  readonly clientCpuUsPerMessage: number | null;
}

export interface SendRatio extends SendCell {
  readonly system: string;
  readonly throughputRatio: number | null;
  readonly p99Ratio: number | null;
}

/** A bare fetch of a JSON body; the same load-side cost for whichever server answers. */
function plainPost(url: string, what: string, body: (recipient: Recipient) => unknown): SendOne {
  return async (recipient) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body(recipient)),
    });
    if (!response.ok) throw new Error(`${what}: HTTP ${response.status}`);
    await response.json();
  };
}

/**
 * One send through a system: the relay via the tRPC client (or, with `plainFetch`, a bare fetch in
 * tRPC's wire format — the same load-side cost as the baseline's), the baseline via a JSON POST.
 */
function sender(system: BenchSystem, batch: number, plainFetch: boolean): SendOne {
  if (plainFetch) {
    return plainPost(`${system.url}/trpc/send`, 'relay', ({ agentId, ciphertext }) => ({
      json: { to: agentId, ciphertext },
    }));
  }
  if (system.name === 'baseline') {
    return plainPost(`${system.url}/send`, 'baseline', ({ agentId, ciphertext }) => ({
      to: agentId,
      ciphertext,
    }));
  }
  const client = trpcClient(system.url, batch);
  return ({ agentId, ciphertext }) => client.send.mutate({ to: agentId, ciphertext });
}

export interface SendCellRun extends SendCell {
  readonly system: BenchSystem;
  readonly seconds: number;
  readonly recipients: readonly Recipient[];
  readonly plainFetch?: boolean;
}

/**
 * One cell of the matrix. `inFlight` messages are outstanding at any time: `inFlight` workers
 * sending one at a time, or `inFlight / batch` workers each sending `batch` calls at once (which
 * httpBatchLink turns into one request). The baseline has no batch endpoint: it is measured with
 * single requests at the same number in flight.
 */
export async function measureSend({
  system,
  batch,
  inFlight,
  seconds,
  recipients,
  plainFetch = false,
}: SendCellRun): Promise<SendResult> {
  const perRequest = system.name === 'baseline' ? 1 : batch;
  const send = sender(system, perRequest, plainFetch);
  const workers = Math.max(1, Math.round(inFlight / perRequest));
  let next = 0;
  const pick = (): Recipient => {
    const recipient = recipients[next++ % recipients.length];
    if (recipient === undefined) throw new Error('no recipients');
    return recipient;
  };
  const serverBefore = cpuMs(system.pid).total;
  const benchBefore = process.cpuUsage();
  const result = await closedLoop({
    workers,
    seconds,
    maxMessages: 200_000,
    step: async () => {
      await Promise.all(Array.from({ length: perRequest }, () => send(pick())));
      return perRequest;
    },
  });
  // CPU per message on each side: whether a difference is the server's work or the load side's.
  const serverUs = (1000 * (cpuMs(system.pid).total - serverBefore)) / result.messages;
  const bench = process.cpuUsage(benchBefore);
  const clientUs = (bench.user + bench.system) / result.messages;
  return {
    system: plainFetch ? `${system.name}, plain fetch` : system.name,
    batch: perRequest,
    inFlight: workers * perRequest,
    ...result,
    serverCpuUsPerMessage: round(serverUs, 0),
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

/** Issue 17's send goal: at 16 and 64 in flight, single messages, ≥ 2× the baseline, p99 no worse. */
export function sendGoalChecks(ratios: readonly SendRatio[]): GoalCheck[] {
  return ratios
    .filter((r) => r.batch === 1 && (r.inFlight === 16 || r.inFlight === 64))
    .map((r) => ({
      goal: `send, ${r.system}, ${r.inFlight} in flight: >= 2x the baseline's msgs/s, p99 <= 1x`,
      value: `${r.throughputRatio ?? '?'}x msgs/s, p99 ${r.p99Ratio ?? '?'}x`,
      pass: (r.throughputRatio ?? 0) >= 2 && (r.p99Ratio ?? Infinity) <= 1,
    }));
}
