// Makes sure a test cluster's processes and folder do not outlive the test process: an `exit`
// hook for a normal end, and a detached watcher for a SIGTERM or SIGKILL, which skip that hook.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClusterReaper {
  /** The pids to kill if this process dies; replaces the previous list. */
  record(pids: readonly number[]): void;
  /** Call after the cluster is stopped: ends the watcher and the exit hook. */
  dispose(): void;
}

/** Polls every second whether `$1` is alive; once it is not, kills `$(cat $2)`, removes `$3`. */
const WATCHER_SCRIPT =
  'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 $(cat "$2") 2>/dev/null; rm -rf "$3"';

const onExit = new Map<ClusterReaper, () => void>();
let exitHooked = false;

/** Watches over `rootDir` (which it removes) and the pids recorded, until `dispose()`. */
export function startClusterReaper(rootDir: string): ClusterReaper {
  const pidFile = join(rootDir, 'pids');
  let pids: readonly number[] = [];
  const record = (next: readonly number[]): void => {
    pids = next;
    writeFileSync(pidFile, pids.join(' '));
  };
  record([]);
  const watcher = spawn(
    'sh',
    ['-c', WATCHER_SCRIPT, 'redis-cluster-reaper', String(process.pid), pidFile, rootDir],
    { detached: true, stdio: 'ignore' },
  );
  watcher.unref();
  const reaper: ClusterReaper = {
    record,
    dispose: () => {
      onExit.delete(reaper);
      if (watcher.exitCode === null && watcher.signalCode === null) watcher.kill('SIGKILL');
    },
  };
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', killAllNow);
  }
  onExit.set(reaper, () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(rootDir, { recursive: true, force: true });
  });
  return reaper;
}

function killAllNow(): void {
  for (const kill of onExit.values()) kill();
}
