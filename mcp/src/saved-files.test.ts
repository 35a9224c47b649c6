import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { safeFileName, saveReceivedFile } from './saved-files.js';

describe('safeFileName', () => {
  it('keeps an ordinary name', () => {
    expect(safeFileName('report 2.pdf', 'x')).toBe('report 2.pdf');
  });
  it('hides nothing and runs nothing: no leading dots, odd characters replaced', () => {
    expect(safeFileName('..bashrc', 'x')).toBe('bashrc');
    expect(safeFileName('a:b*c?.txt', 'x')).toBe('a_b_c_.txt');
  });
  it('falls back when nothing usable is left', () => {
    expect(safeFileName(undefined, 'message-1-0')).toBe('message-1-0');
    expect(safeFileName('...', 'message-1-0')).toBe('message-1-0');
  });
  it('bounds the length', () => {
    expect(safeFileName(`${'a'.repeat(300)}.txt`, 'x')).toHaveLength(124);
  });
});

describe('saveReceivedFile', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('writes 0600 files in a 0700 folder and never overwrites', async () => {
    dir = await mkdtemp(join(tmpdir(), 'deaddrop-save-'));
    const folder = join(dir, 'files', 'bob');
    const first = await saveReceivedFile(folder, 'a.txt', new Uint8Array([1, 2]));
    const second = await saveReceivedFile(folder, 'a.txt', new Uint8Array([3]));
    expect(basename(first)).toBe('a.txt');
    expect(basename(second)).toBe('a (1).txt');
    expect([...(await readFile(first))]).toEqual([1, 2]);
    expect([...(await readFile(second))]).toEqual([3]);
    expect((await stat(first)).mode & 0o777).toBe(0o600);
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
  });
});
