// The send benchmark: DeadDrop `send` through the real tRPC client (single calls, and httpBatchLink
// batches) against the baseline's bare POST /send, closed loop at equal numbers of messages in flight.
import { cpuMs } from '../bench-live-processes.mjs';
import { closedLoop, round } from './stats.mjs';
import { trpcClient } from './systems.mjs';

/**
 * One send through a system: the relay via the tRPC client (or, with `plainFetch`, a bare fetch in
 * tRPC's wire format — the same load-side cost as the baseline's), the baseline via a JSON POST.
 */
function sender(system, batch, plainFetch) {
  if (plainFetch) {
    const url = `${system.url}/trpc/send`;
    return async ({ agentId, ciphertext }) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ json: { to: agentId, ciphertext } }),
      });
      if (!response.ok) throw new Error(`relay: HTTP ${response.status}`);
      await response.json();
    };
  }
  if (system.name === 'baseline') {
    const url = `${system.url}/send`;
    return async ({ agentId, ciphertext }) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: agentId, ciphertext }),
      });
      if (!response.ok) throw new Error(`baseline: HTTP ${response.status}`);
      await response.json();
    };
  }
  const client = trpcClient(system.url, batch);
  return ({ agentId, ciphertext }) => client.send.mutate({ to: agentId, ciphertext });
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
}) {
  const send = sender(system, system.name === 'baseline' ? 1 : batch, plainFetch);
  const perRequest = system.name === 'baseline' ? 1 : batch;
  const workers = Math.max(1, Math.round(inFlight / perRequest));
  let next = 0;
  const pick = () => recipients[next++ % recipients.length];
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

/** The matrix cells for a plan, relay systems first, baseline last. */
export function sendCells(quick) {
  const singles = quick ? [1, 16, 64] : [1, 4, 16, 64];
  return [
    ...singles.map((inFlight) => ({ batch: 1, inFlight })),
    { batch: 10, inFlight: 60 },
    { batch: 100, inFlight: 100 },
  ];
}

/** ours / baseline at the same number in flight (throughput, p99). */
export function sendRatios(results) {
  const baseline = new Map(
    results.filter((r) => r.system === 'baseline').map((r) => [r.inFlight, r]),
  );
  return results
    .filter((r) => r.system !== 'baseline')
    .map((r) => {
      const base = baseline.get(r.inFlight);
      return {
        system: r.system,
        batch: r.batch,
        inFlight: r.inFlight,
        throughputRatio: base ? round(r.perSecond / base.perSecond, 2) : null,
        p99Ratio: base ? round(r.p99Ms / base.p99Ms, 2) : null,
      };
    });
}
