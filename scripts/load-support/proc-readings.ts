// What a process costs, read from Linux's /proc: resident memory, open descriptors, CPU time.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export function rssKB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb);
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

// spawnSync's stdout is null when getconf is missing, whatever its type says.
const clockTicks = (spawnSync('getconf', ['CLK_TCK']).stdout as Buffer | null)?.toString().trim();
const CLOCK_TICKS = Number(clockTicks) || 100;

export interface CpuTime {
  readonly user: number;
  readonly system: number;
  readonly total: number;
}

/** CPU time a process has used in user and in system (kernel) mode, in ms. */
export function cpuMs(pid: number): CpuTime {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = (Number(fields[11]) * 1000) / CLOCK_TICKS;
  const system = (Number(fields[12]) * 1000) / CLOCK_TICKS;
  return { user, system, total: user + system };
}
