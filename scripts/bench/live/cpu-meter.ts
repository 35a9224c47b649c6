// CPU used by the server and by this process over a phase, as a share of one core. On a shared
// machine these say whether a slow phase was the server's own cost or a starved or busy load side.
import { cpuMs } from '../../load-support/proc-readings.js';
import { round } from '../stats.js';

export interface CpuShares {
  readonly serverCpuShare: number | null;
  /** Kernel time: syscalls (socket writes, fsync) rather than JavaScript. */
  readonly serverSystemShare: number | null;
  readonly benchCpuShare: number | null;
  readonly serverCpuUsPerMessage?: number | null;
}

/** Starts a reading; the returned function ends it, per message when `messages` > 0. */
export function startCpuMeter(pid: number): (messages: number) => CpuShares {
  const wall = performance.now();
  const server = cpuMs(pid);
  const bench = process.cpuUsage();
  return (messages) => {
    const wallMs = performance.now() - wall;
    const now = cpuMs(pid);
    const serverMs = now.total - server.total;
    const { user, system } = process.cpuUsage(bench);
    return {
      serverCpuShare: round(serverMs / wallMs, 2),
      serverSystemShare: round((now.system - server.system) / wallMs, 2),
      benchCpuShare: round((user + system) / 1000 / wallMs, 2),
      ...(messages > 0 ? { serverCpuUsPerMessage: round((1000 * serverMs) / messages) } : {}),
    };
  };
}
