// The identity and prekeys files' lock (client/src/file-lock.ts) breaks a fresh lock early only
// when its holder is a process of this machine AND this pid namespace that no longer runs.
// Processes that share the home folder and the hostname but not the pid namespace — an MCP server
// in a container run with `--network host` beside the CLI on the host — must wait for each other.
// Runs wherever `unshare` can make a pid namespace (root, or user namespaces allowed).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { holdLockFile } from '../src/file-lock.js';

const unshareArgs = ['--pid', '--fork', '--mount-proc'];
const canUnshare = spawnSync('unshare', [...unshareArgs, 'true']).status === 0;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deaddrop-lock-pidns-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it.skipIf(!canUnshare)(
  'a process in another pid namespace (same hostname) does not break a live holder’s lock',
  async () => {
    const target = join(dir, 'identity.json');
    const module = fileURLToPath(new URL('../src/file-lock.ts', import.meta.url));
    const script = `
      import { withFileLock } from ${JSON.stringify(module)};
      try {
        await withFileLock(${JSON.stringify(target)}, async () => {
          process.stdout.write('acquired');
        }, { holder: 'test', waitMs: 1_500 });
      } catch {
        process.stdout.write('waited');
      }
    `;
    const other = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          'unshare',
          [
            ...unshareArgs,
            process.execPath,
            '--import',
            'tsx',
            '--input-type=module',
            '--eval',
            script,
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.once('error', reject);
        child.once('close', () => {
          resolve(out);
        });
      });
    // This process holds the lock, alive and heartbeating, while the other one tries.
    const seen = await holdLockFile(`${target}.lock`, other, { holder: 'test' });
    expect(seen).toBe('waited');
  },
  30_000,
);
