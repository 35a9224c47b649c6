// The relay as the benchmarks and the soak run it: the BUILT server (server/dist/main.js; the npm
// scripts build first), with the bench rate limits and a data folder for its embedded store.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT } from './child-processes.js';
import { BENCH_RATE_LIMITS, cleanEnv } from './relay-env.js';
import { spawnServer, type ServerProcess } from './spawn-server.js';
import { onTeardown } from './teardown.js';
import type { LogCounts } from './output-capture.js';

export const BUILT_RELAY_ENTRY = join(ROOT, 'server', 'dist', 'main.js');

export interface BuiltRelayOptions {
  /** Names its data folder (`<name>-XXXXXX`) when the run does not give one. */
  readonly name: string;
  /** Store and limits on top of the clean environment and the bench rate limits. */
  readonly env?: Readonly<Record<string, string>>;
  /** A folder to keep across restarts; else one is made under `dataParent` and removed at teardown. */
  readonly dataDir?: string;
  readonly dataParent?: string;
  /** `node` flags before the entry (profiling, heap snapshots). */
  readonly nodeArgs?: readonly string[];
  readonly cwd?: string;
  readonly port?: number;
  readonly logCounts?: LogCounts;
}

export interface BuiltRelay extends ServerProcess {
  readonly dataDir: string;
}

export async function startBuiltRelay(options: BuiltRelayOptions): Promise<BuiltRelay> {
  const { name, env = {}, nodeArgs = [], cwd, port, logCounts } = options;
  const dataDir = options.dataDir ?? ownDataDir(options.dataParent ?? os.tmpdir(), name);
  const server = await spawnServer({
    name: 'relay',
    args: [...nodeArgs, BUILT_RELAY_ENTRY],
    env: { ...cleanEnv(), ...BENCH_RATE_LIMITS, DEADDROP_DATA_DIR: dataDir, ...env },
    readyPath: '/trpc/info',
    cwd,
    port,
    logCounts,
  });
  return { ...server, dataDir };
}

function ownDataDir(parent: string, name: string): string {
  const dir = mkdtempSync(join(parent, `${name}-`));
  onTeardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
