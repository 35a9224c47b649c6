import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { safeFilename, saveNewFile } from './save-file.js';

describe('safeFilename', () => {
  it('keeps only a bare name: no path, no control characters, no leading dots', () => {
    expect(safeFilename('../../etc/passwd', 'u1')).toBe('passwd');
    expect(safeFilename('..\\..\\boot.ini', 'u1')).toBe('boot.ini');
    expect(safeFilename('..', 'u1')).toBe('message-u1');
    expect(safeFilename('.', 'u1')).toBe('message-u1');
    expect(safeFilename('dir/', 'u1')).toBe('message-u1');
    expect(safeFilename('.ssh', 'u1')).toBe('ssh');
    expect(safeFilename('a\u0000b\u001b[2Jc\u007f\u0085d', 'u1')).toBe('ab[2Jcd');
    expect(safeFilename('evil\u202etxt.exe', 'u1')).toBe('eviltxt.exe');
    expect(safeFilename(undefined, 'abc_-9')).toBe('message-abc_-9');
    expect(safeFilename('report.pdf', 'u1')).toBe('report.pdf');
  });

  it('cuts a long name to 255 UTF-8 bytes, never inside a character', () => {
    const name = safeFilename(`${'é'.repeat(200)}.txt`, 'u1');
    expect(Buffer.byteLength(name, 'utf8')).toBeLessThanOrEqual(255);
    expect(name).toBe('é'.repeat(127));
  });
});

describe('saveNewFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deaddrop-save-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('never overwrites: numbers the copies before the extension', async () => {
    const paths = [];
    for (const byte of [1, 2, 3])
      paths.push(await saveNewFile(dir, 'a.tar.gz', Uint8Array.of(byte)));
    expect(paths).toEqual([
      join(dir, 'a.tar.gz'),
      join(dir, 'a.tar (1).gz'),
      join(dir, 'a.tar (2).gz'),
    ]);
    expect([...(await readFile(join(dir, 'a.tar.gz')))]).toEqual([1]);
    expect((await readdir(dir)).length).toBe(3);
  });

  it('keeps a numbered long name within 255 bytes', async () => {
    const long = `${'x'.repeat(251)}.bin`;
    await saveNewFile(dir, long, Uint8Array.of(1));
    const second = await saveNewFile(dir, long, Uint8Array.of(2));
    const name = second.slice(dir.length + 1);
    expect(Buffer.byteLength(name)).toBe(255);
    expect(name.endsWith(' (1).bin')).toBe(true);
  });
});
