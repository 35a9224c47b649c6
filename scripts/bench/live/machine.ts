// Where `npm run bench:live` ran and what it measured: the machine (fd limits, CPUs, load) and the
// build of the relay (server/dist may be older than the sources, or built from uncommitted ones).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BUILT_RELAY_ENTRY } from '../../load-support/built-relay.js';
import { ROOT } from '../../load-support/child-processes.js';
import type { FdLimit } from '../../load-support/fd-limit.js';
import { round } from '../stats.js';

export interface MachineDescription {
  readonly fdSoftLimit: number;
  readonly fdHardLimit: number;
  readonly nproc: number;
  readonly cpu: string | undefined;
  readonly memoryGB: number | null;
  readonly loadAverageAtStart: (number | null)[];
  loadAverageAtEnd?: (number | null)[];
  readonly node: string;
  readonly kernel: string;
  readonly ephemeralPorts: string;
}

export interface BuildProvenance {
  readonly head: string | undefined;
  readonly uncommittedSourceFiles: number;
  readonly serverDistBuiltAt: string;
  readonly sourcesNewerThanDist: number;
}

export function loadAverage(): (number | null)[] {
  return os.loadavg().map((load) => round(load, 2));
}

export function describeMachine(limit: FdLimit): MachineDescription {
  return {
    fdSoftLimit: limit.soft,
    fdHardLimit: limit.hard,
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    memoryGB: round(os.totalmem() / 2 ** 30),
    loadAverageAtStart: loadAverage(),
    node: process.version,
    kernel: os.release(),
    ephemeralPorts: readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim(),
  };
}

/**
 * What was measured: the relay runs from server/dist, which may have been built from a working
 * tree with uncommitted changes, or be older than the sources; the results say so.
 */
export function buildProvenance(): BuildProvenance {
  const git = (...args: string[]): string | undefined =>
    (spawnSync('git', args, { cwd: ROOT }).stdout as Buffer | null)?.toString().trim();
  const dirty = git('status', '--porcelain', '--', 'server/src', 'contract/src');
  const builtAt = statSync(BUILT_RELAY_ENTRY).mtimeMs;
  const sources = ['server/src', 'contract/src'].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((file) =>
      join(ROOT, dir, file),
    ),
  );
  return {
    head: git('rev-parse', '--short', 'HEAD'),
    uncommittedSourceFiles: dirty === '' || dirty === undefined ? 0 : dirty.split('\n').length,
    serverDistBuiltAt: new Date(builtAt).toISOString(),
    sourcesNewerThanDist: sources.filter((file) => {
      const stat = statSync(file);
      return stat.isFile() && stat.mtimeMs > builtAt;
    }).length,
  };
}
