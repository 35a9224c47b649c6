import type * as fsPromises from 'node:fs/promises';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Lets a test make rename() fail, as a crash between writing the temp file and renaming would.
const crash = vi.hoisted(() => ({ onRename: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof fsPromises>();
  return {
    ...actual,
    rename: async (from: string, to: string) => {
      if (crash.onRename) throw new Error('simulated crash before rename');
      await actual.rename(from, to);
    },
  };
});

// Imported after a reset: a worker that ran other files first (vitest.config.ts: isolate: false)
// may hold a copy already loaded with the real `rename`, which the mock would not reach.
vi.resetModules();
const { readJsonFile, writeFileAtomic } = await import('./atomic-file.js');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deaddrop-atomic-'));
  crash.onRename = false;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('creates the file with mode 0600 whatever the umask', async () => {
    const previous = process.umask(0o000);
    try {
      await writeFileAtomic(join(dir, 'a.json'), '{"a":1}');
    } finally {
      process.umask(previous);
    }
    expect((await stat(join(dir, 'a.json'))).mode & 0o777).toBe(0o600);
    expect(await readJsonFile(join(dir, 'a.json'))).toEqual({ a: 1 });
  });

  it('replaces an existing file and tightens its mode', async () => {
    const path = join(dir, 'a.json');
    await writeFile(path, 'old', { mode: 0o644 });
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('keeps the old contents and no temp file when the write does not complete', async () => {
    const path = join(dir, 'a.json');
    await writeFileAtomic(path, 'old');
    crash.onRename = true;
    await expect(writeFileAtomic(path, 'new')).rejects.toThrow('simulated crash');
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('in exclusive mode refuses an existing file and keeps it', async () => {
    const path = join(dir, 'a.json');
    await writeFile(path, 'mine');
    await expect(writeFileAtomic(path, 'theirs', { exclusive: true })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(await readFile(path, 'utf8')).toBe('mine');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('never lets a reader see a partial file while writers race', async () => {
    const path = join(dir, 'state.json');
    await writeFileAtomic(path, JSON.stringify({ n: 0, pad: 'x'.repeat(50_000) }));
    let reading = true;
    const reader = (async () => {
      let reads = 0;
      while (reading) {
        const value = (await readJsonFile(path)) as { n: number; pad: string };
        expect(value.pad).toHaveLength(50_000);
        reads++;
      }
      return reads;
    })();
    await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        writeFileAtomic(path, JSON.stringify({ n, pad: 'x'.repeat(50_000) })),
      ),
    );
    reading = false;
    expect(await reader).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual(['state.json']);
  });
});

describe('readJsonFile', () => {
  it('returns undefined for a missing file', async () => {
    expect(await readJsonFile(join(dir, 'missing.json'))).toBeUndefined();
  });
});
