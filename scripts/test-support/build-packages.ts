// Brings the packages' builds (dist/) up to date for tests that run what a user installs, one build
// at a time across the test processes: two turbo runs rebuilding one package at once write the same
// files, and a test could start a bin while the other run is halfway through writing it.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './source-process.js';

const run = promisify(execFile);

const LOCK_DIR = join(repoRoot, 'node_modules', '.cache', 'deaddrop-test-build.lock');
const BUILD_TIMEOUT_MS = 300_000;
const LOCK_POLL_MS = 250;
/** A lock folder without its owner's pid this long after it was made is a crashed owner's. */
const UNWRITTEN_LOCK_MS = 10_000;

/** `npx turbo run build`, for `filter` (`@deaddrop/mcp...`) or every package. */
export async function buildPackages(filter?: string): Promise<void> {
  await withBuildLock(async () => {
    await run(
      'npx',
      [
        'turbo',
        'run',
        'build',
        '--output-logs=errors-only',
        ...(filter === undefined ? [] : [`--filter=${filter}`]),
      ],
      { cwd: repoRoot, timeout: BUILD_TIMEOUT_MS },
    );
  });
}

/** The lock is a folder (created atomically) holding its owner's pid; a dead owner's is broken. */
async function withBuildLock(work: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  await mkdir(dirname(LOCK_DIR), { recursive: true });
  for (;;) {
    try {
      await mkdir(LOCK_DIR, { recursive: false });
      break;
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
    }
    if (!(await ownerAlive())) {
      await rm(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${LOCK_DIR} held for over ${BUILD_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  try {
    await writeFile(join(LOCK_DIR, 'pid'), String(process.pid));
    await work();
  } finally {
    await rm(LOCK_DIR, { recursive: true, force: true });
  }
}

async function ownerAlive(): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(await readFile(join(LOCK_DIR, 'pid'), 'utf8'));
  } catch {
    // Created but its pid not written yet: its owner is starting, unless that was long ago.
    const created = await stat(LOCK_DIR).then(
      (folder) => folder.mtimeMs,
      () => 0,
    );
    return Date.now() - created < UNWRITTEN_LOCK_MS;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !(error instanceof Error && 'code' in error && error.code === 'ESRCH');
  }
}
