import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { holdLockFile, withFileLock } from './file-lock.js';

const holder = 'other test process';

/** Work that fails the test if anyone else is inside the same lock at the same time. */
function exclusive(state: { inside: number; most: number }, ms: number): () => Promise<void> {
  return async () => {
    state.inside += 1;
    state.most = Math.max(state.most, state.inside);
    await new Promise((resolve) => setTimeout(resolve, ms));
    state.inside -= 1;
  };
}

async function makeStale(lock: string, token = ''): Promise<void> {
  await writeFile(lock, token);
  const past = new Date(Date.now() - 60_000);
  await utimes(lock, past, past);
}

describe('file lock', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deaddrop-file-lock-'));
    path = join(dir, 'bob.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lets one holder in at a time, in order, and leaves no lock file behind', async () => {
    const state = { inside: 0, most: 0 };
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        withFileLock(
          path,
          async () => {
            await exclusive(state, 2)();
            order.push(i);
          },
          { holder },
        ),
      ),
    );
    expect(state.most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('passes on after a holder throws', async () => {
    await expect(
      withFileLock(path, () => Promise.reject(new Error('boom')), { holder }),
    ).rejects.toThrow('boom');
    await expect(withFileLock(path, () => Promise.resolve(7), { holder })).resolves.toBe(7);
    expect(await readdir(dir)).toEqual([]);
  });

  it('breaks a crashed holder’s lock, and waits for a live one', async () => {
    const lock = `${path}.lock`;
    await makeStale(lock, 'crashed');
    await expect(withFileLock(path, () => Promise.resolve('in'), { holder })).resolves.toBe('in');

    await writeFile(lock, 'live');
    let done = false;
    const waiting = withFileLock(path, () => Promise.resolve(), { holder }).then(
      () => (done = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(done).toBe(false);
    await rm(lock);
    await waiting;
    expect(await readdir(dir)).toEqual([]);
  });

  it('breaks at once a fresh lock whose holder process on this machine is gone', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid ?? 0;
    await new Promise((resolve) => child.on('exit', resolve));
    await writeFile(`${path}.lock`, `${hostname()} ${pid} 00 ${readlinkSync('/proc/self/ns/pid')}`);
    const started = performance.now();
    await expect(
      withFileLock(path, () => Promise.resolve('in'), { holder, waitMs: 1_000 }),
    ).resolves.toBe('in');
    expect(performance.now() - started).toBeLessThan(1_000);
    // A live holder's (this process) is waited for, fresh as it is.
    await writeFile(
      `${path}.lock`,
      `${hostname()} ${process.pid} 00 ${readlinkSync('/proc/self/ns/pid')}`,
    );
    await expect(
      withFileLock(path, () => Promise.resolve(), { holder, waitMs: 50 }),
    ).rejects.toThrow('has been held');
  });

  it('gives up on a lock held too long, naming it', async () => {
    await writeFile(`${path}.lock`, 'live');
    await expect(
      withFileLock(path, () => Promise.resolve(), { holder, waitMs: 50 }),
    ).rejects.toThrow(`${path}.lock has been held for over 0.05 s; if no ${holder} runs`);
  });

  // Two processes that find the same stale lock both break it. Removing it by name let the second
  // remove the lock the first had just taken after breaking it: both held the lock.
  it('never lets two processes in that both break the same stale lock', async () => {
    const lock = `${path}.lock`;
    for (let round = 0; round < 20; round += 1) {
      await makeStale(lock, round % 2 === 0 ? '' : 'crashed');
      const state = { inside: 0, most: 0 };
      await Promise.all(
        Array.from({ length: 4 }, () => holdLockFile(lock, exclusive(state, 5), { holder })),
      );
      expect(state.most).toBe(1);
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it('keeps processes apart: counts from 3 processes lose no increment', async () => {
    const counter = join(dir, 'counter');
    await writeFile(counter, '0');
    const module = fileURLToPath(new URL('./file-lock.ts', import.meta.url));
    const script = `
      import { readFile, writeFile } from 'node:fs/promises';
      import { withFileLock } from ${JSON.stringify(module)};
      for (let i = 0; i < 30; i += 1) {
        await withFileLock(${JSON.stringify(counter)}, async () => {
          const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8'));
          await new Promise((resolve) => setTimeout(resolve, 1));
          await writeFile(${JSON.stringify(counter)}, String(n + 1));
        }, { holder: 'test' });
      }
    `;
    const run = () =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '--eval', script],
          { stdio: ['ignore', 'ignore', 'inherit'] },
        );
        child.once('error', reject);
        child.once('close', resolve);
      });
    expect(await Promise.all([run(), run(), run()])).toEqual([0, 0, 0]);
    expect(await readFile(counter, 'utf8')).toBe('90');
  }, 60_000);
});
