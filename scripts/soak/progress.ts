// A progress line every 10 s while the soak runs: sends, failures, deliveries, lost streams, and
// the CPU the relay and the soak itself used (on a shared machine, whether either was starved).
import { cpuMs } from '../load-support/proc-readings.js';
import type { Ledger } from './ledger.js';
import type { ConnectionEvents } from './live-subscribers.js';
import type { SoakRelay } from './relay-process.js';
import type { SendStats } from './sender.js';
import type { Tally } from './tally.js';

const EVERY_MS = 10_000;

/** CPU the relay process used since the last reading, as a share of one core (a restart resets it). */
function relayCpuMeter(relay: SoakRelay): () => string {
  let last = { pid: relay.pid(), cpu: cpuMs(relay.pid()).total, at: performance.now() };
  return () => {
    const pid = relay.pid();
    let cpu: number;
    try {
      cpu = cpuMs(pid).total;
    } catch {
      return '?';
    }
    const at = performance.now();
    const share = pid === last.pid ? (cpu - last.cpu) / (at - last.at) : cpu / (at - last.at);
    last = { pid, cpu, at };
    return `${Math.round(share * 100)}%`;
  };
}

export interface ProgressSources {
  readonly ledger: Ledger;
  readonly sendStats: SendStats;
  readonly events: ConnectionEvents;
  readonly relay: SoakRelay;
  readonly errors: Tally;
}

/** Prints a progress line every 10 s until the returned function is called. */
export function startProgress(
  startedAt: number,
  { ledger, sendStats, events, relay, errors }: ProgressSources,
): () => void {
  const relayCpu = relayCpuMeter(relay);
  let failedBefore = 0;
  let loadCpu = { usage: process.cpuUsage(), at: performance.now() };
  const timer = setInterval(() => {
    const at = (performance.now() - startedAt) / 1000;
    const { counts } = ledger;
    const used = process.cpuUsage(loadCpu.usage);
    const soakShare = (used.user + used.system) / 1000 / (performance.now() - loadCpu.at);
    loadCpu = { usage: process.cpuUsage(), at: performance.now() };
    const failedNow = errors.total();
    console.log(
      `  [${at.toFixed(1).padStart(6)} s] sent ${counts.sent}, acknowledged ${counts.acked}, ` +
        `in flight ${sendStats.inFlight}, failed attempts +${failedNow - failedBefore}, live deliveries ${counts.deliveries}, streams lost ` +
        `${events.raw.lost.total()}, SDK reconnecting notices ${events.sdk.reconnecting.total()}; ` +
        `CPU relay ${relayCpu()}, soak ${Math.round(soakShare * 100)}%`,
    );
    failedBefore = failedNow;
  }, EVERY_MS);
  return () => {
    clearInterval(timer);
  };
}
