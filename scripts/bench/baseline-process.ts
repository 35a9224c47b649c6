// Starts the baseline (baseline-server.ts) for a run: a child process under tsx on a loopback
// port, on the shared Redis under a key prefix of its own.
import { join } from 'node:path';
import { ROOT } from '../load-support/child-processes.js';
import { REDIS_URL, ownRedisKeyPrefix } from '../load-support/redis.js';
import { cleanEnv } from '../load-support/relay-env.js';
import { spawnServer, type ServerProcess } from '../load-support/spawn-server.js';

const BASELINE_ENTRY = join(ROOT, 'scripts', 'bench', 'baseline-server.ts');

/** `keyName` tells this run's keys apart from other runs' (`bench-<keyName>-<pid>-<time>:`). */
export function startBaseline(keyName: string): Promise<ServerProcess> {
  return spawnServer({
    name: 'baseline',
    args: ['--import', 'tsx', BASELINE_ENTRY],
    env: { ...cleanEnv(), REDIS_URL, BASELINE_KEY_PREFIX: ownRedisKeyPrefix(keyName) },
    readyPath: '/healthz',
  });
}
