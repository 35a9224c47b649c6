// The lock every read-modify-write of an agent's shared files takes (PROTOCOL §1): the CLI beside
// an MCP server, or two CLI runs, are separate processes of one agent. Within a process a queue per
// file orders the changes; across processes a lock file `<file>.lock`, created exclusively, does.
// A holder keeps its lock file's mtime fresh while it works, so one that has not changed for 30 s,
// or one whose holder process on this machine is gone, is a crashed holder's and is broken — by one process at a time (see breakStale), so two
// processes that both find it stale never both end up holding the lock.
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { open, rm, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isErrnoException, PRIVATE_FILE_MODE } from './atomic-file.js';
import { DeadDropError } from './errors.js';

/** A lock file untouched this long is a crashed holder's: holders touch theirs far more often. */
const STALE_LOCK_MS = 30_000;
const HEARTBEAT_MS = STALE_LOCK_MS / 3;
const LOCK_RETRY_MS = 5;
const DEFAULT_WAIT_MS = 10_000;

export interface FileLockOptions {
  /** How long to wait for another process's lock before giving up. */
  readonly waitMs?: number;
  /** Who else may hold it, for the error: `other DeadDrop process of "bob"`. */
  readonly holder: string;
}

/** This process's pid namespace (Linux: `pid:[4026531836]`), or '' where there is none to read. */
const PID_NAMESPACE = ((): string => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
})();

/** Each file's queue in this process: the tail of the changes waiting for it. */
const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `work` holding `path`'s lock: after every earlier holder in this process, with the lock
 * file `<path>.lock` taken. Not re-entrant: `work` must not take the same lock again.
 */
export function withFileLock<T>(
  path: string,
  work: () => Promise<T>,
  options: FileLockOptions,
): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous.then(() => holdLockFile(`${path}.lock`, work, options));
  const tail = run.catch(() => undefined);
  queues.set(path, tail);
  // The last one out removes the entry, so the map holds only files in use.
  void tail.then(() => {
    if (queues.get(path) === tail) queues.delete(path);
  });
  return run;
}

/**
 * `work` holding the lock file `lockPath` alone, without this process's queue: what another
 * process does. `withFileLock` is the one to use; tests stand in for other processes with this.
 */
export async function holdLockFile<T>(
  lockPath: string,
  work: () => Promise<T>,
  options: FileLockOptions,
): Promise<T> {
  // Who holds it: a holder on this machine whose process is gone is known crashed at once.
  const token = `${hostname()} ${process.pid} ${randomBytes(12).toString('hex')} ${PID_NAMESPACE}`;
  await acquire(lockPath, token, options);
  // A slow holder (a rotation waits for the relay) keeps its lock from looking stale.
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    await release(lockPath, token);
  }
}

async function acquire(lockPath: string, token: string, options: FileLockOptions): Promise<void> {
  const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  const deadline = performance.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', PRIVATE_FILE_MODE);
      try {
        await handle.writeFile(token, 'utf8');
        await handle.close();
      } catch (error) {
        // Taken but not written (a full disk): removed, or everyone would wait it out as stale.
        await handle.close().catch(() => undefined);
        await rm(lockPath, { force: true });
        throw error;
      }
      return;
    } catch (error) {
      if (!isErrnoException(error) || error.code !== 'EEXIST') throw error;
    }
    const held = await look(lockPath);
    // Released meanwhile: try again at once.
    if (held === null) continue;
    const stale = Date.now() - held.mtimeMs > STALE_LOCK_MS || holderIsGone(held.token);
    if (stale && (await breakStale(lockPath, held))) continue;
    if (performance.now() > deadline) {
      throw new DeadDropError(
        'IDENTITY_CORRUPT',
        `${lockPath} has been held for over ${waitMs / 1000} s; if no ${options.holder} runs, delete it`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
  }
}

/** One look at a lock file: what tells this one apart from any later one at the same path. */
interface LockSeen {
  readonly token: string;
  readonly ino: number;
  readonly mtimeMs: number;
}

/** The lock file at `path` as it is now, or null when there is none. */
async function look(path: string): Promise<LockSeen | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return null;
    throw error;
  }
  // Through one handle, so the token and the times are of the same file, however it is replaced.
  try {
    const info = await handle.stat();
    return { token: await handle.readFile('utf8'), ino: info.ino, mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

/**
 * Removes the stale lock `seen`, and only it; false when another process is breaking it. Removing
 * it by name as soon as it looked stale let a second process that saw the same stale lock remove
 * the fresh one the first had taken after breaking it: both held the lock. So breaking takes a
 * lock of its own, `<lock>.break`, and looks again under it: while it is held nobody else
 * breaks, and nobody can create a lock at the path until the stale one is gone, so the file seen
 * again is the one removed.
 */
async function breakStale(lockPath: string, seen: LockSeen): Promise<boolean> {
  const breakPath = `${lockPath}.break`;
  try {
    await (await open(breakPath, 'wx', PRIVATE_FILE_MODE)).close();
  } catch (error) {
    if (!isErrnoException(error) || error.code !== 'EEXIST') throw error;
    // Held for a few system calls at most: an old one is a breaker that crashed meanwhile. (Two
    // processes removing that one at once could let two breakers in: a crash inside a break.)
    const breaker = await look(breakPath);
    if (breaker !== null && Date.now() - breaker.mtimeMs > STALE_LOCK_MS) {
      await rm(breakPath, { force: true });
    }
    return false;
  }
  try {
    const now = await look(lockPath);
    const same =
      now !== null &&
      now.token === seen.token &&
      now.ino === seen.ino &&
      now.mtimeMs === seen.mtimeMs;
    if (same) await rm(lockPath, { force: true });
    return true;
  } finally {
    await rm(breakPath, { force: true });
  }
}

/**
 * Whether the lock's holder was a process on this machine that no longer runs (a Ctrl-C inside a
 * change): then nobody waits out the 30 s. Anything else — another machine sharing the folder, a
 * token of another format, a live or reused pid — is judged by the lock file's age alone.
 */
function holderIsGone(token: string): boolean {
  const [host, pid, , namespace] = token.split(' ');
  const number = Number(pid);
  // The same host name is not enough: a container may share it (and the folder) with its host,
  // and a pid means something only in its own pid namespace.
  if (host !== hostname() || PID_NAMESPACE === '' || namespace !== PID_NAMESPACE) return false;
  if (!Number.isSafeInteger(number) || number <= 0) return false;
  try {
    process.kill(number, 0);
    return false;
  } catch (error) {
    return isErrnoException(error) && error.code === 'ESRCH';
  }
}

/** Removes the lock file if it is still this holder's (a lock broken as stale is someone else's). */
async function release(lockPath: string, token: string): Promise<void> {
  const held = await look(lockPath);
  if (held?.token === token) await rm(lockPath, { force: true });
}
