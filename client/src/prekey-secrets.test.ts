import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes, toB64u } from '@deaddrop/contract';
import { ensureHome, prekeysFilePath } from './home.js';
import {
  MAX_PREKEY_SECRETS,
  PREKEY_SECRET_MAX_AGE_MS,
  PrekeySecrets,
  type KeptPrekey,
} from './prekey-secrets.js';

function secret(createdAt = Date.now()): KeptPrekey {
  return {
    id: toB64u(randomBytes(8)),
    key: toB64u(randomBytes(32)),
    secretKey: toB64u(randomBytes(32)),
    createdAt,
  };
}

describe('prekey secrets file', () => {
  let home: string;
  let path: string;

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'deaddrop-prekeys-'));
    await ensureHome(home);
    path = prekeysFilePath(home, 'bob');
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('adds, finds and durably removes a secret, leaving no trace of it in the 0600 file', async () => {
    const secrets = new PrekeySecrets(home, 'bob');
    const [first, second] = [secret(), secret()];
    await secrets.add([first, second]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await secrets.find(first.id)).toEqual(first);

    await secrets.use([first.id]);
    expect(await secrets.find(first.id)).toBeUndefined();
    expect(await secrets.wasUsed(first.id)).toBe(true);
    expect(await secrets.wasUsed(second.id)).toBe(false);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain(first.secretKey);
    expect(text).toContain(second.secretKey);
    // A fresh reader (another process) sees the same.
    expect(await new PrekeySecrets(home, 'bob').list()).toEqual([second]);
  });

  it('loses no change when two handles of one agent (two processes) edit at once', async () => {
    const [a, b] = [new PrekeySecrets(home, 'bob'), new PrekeySecrets(home, 'bob')];
    const initial = Array.from({ length: 40 }, () => secret());
    await a.add(initial);
    const added = Array.from({ length: 40 }, () => secret());
    await Promise.all([
      ...initial.map((s, i) => (i % 2 === 0 ? a : b).use([s.id])),
      ...added.map((s, i) => (i % 2 === 0 ? b : a).add([s])),
    ]);
    const kept = await a.list();
    expect(kept.map((s) => s.id).sort()).toEqual(added.map((s) => s.id).sort());
    // No temp or lock files are left behind.
    expect((await readdir(join(home, 'agents'))).sort()).toEqual(['bob.prekeys.json']);
  });

  it('keeps an unreadable file aside instead of overwriting it, and starts over', async () => {
    await writeFile(path, '{"v":1,"agentId":"bob","prekeys":[{"id":', { mode: 0o600 });
    const secrets = new PrekeySecrets(home, 'bob');
    expect(await secrets.list()).toEqual([]);
    const fresh = secret();
    await secrets.add([fresh]);
    expect(await secrets.list()).toEqual([fresh]);
    const names = await readdir(join(home, 'agents'));
    expect(names.filter((name) => name.startsWith('bob.prekeys.json.corrupt-'))).toHaveLength(1);
  });

  it('reads a file naming another agent, or with a malformed secret, as unreadable', async () => {
    await writeFile(path, JSON.stringify({ v: 1, agentId: 'mallory', prekeys: [secret()] }));
    expect(await new PrekeySecrets(home, 'bob').list()).toEqual([]);
    await writeFile(
      path,
      JSON.stringify({ v: 1, agentId: 'bob', prekeys: [{ ...secret(), secretKey: 'short' }] }),
    );
    expect(await new PrekeySecrets(home, 'bob').list()).toEqual([]);
  });

  it('drops secrets past their age and beyond the bound, oldest first', async () => {
    const now = Date.now();
    const secrets = new PrekeySecrets(home, 'bob', () => now);
    const old = secret(now - PREKEY_SECRET_MAX_AGE_MS - 1);
    const many = Array.from({ length: MAX_PREKEY_SECRETS + 5 }, (_, i) => secret(now - 1000 + i));
    await secrets.add([old, ...many]);
    const kept = await secrets.list();
    expect(kept).toHaveLength(MAX_PREKEY_SECRETS);
    expect(kept[0]).toEqual(many[5]);
  });

  it('breaks a lock left by a crashed process, and waits for a live one', async () => {
    const lock = `${path}.lock`;
    await writeFile(lock, '');
    const past = new Date(Date.now() - 60_000);
    await utimes(lock, past, past);
    const secrets = new PrekeySecrets(home, 'bob');
    await secrets.add([secret()]);
    expect(await secrets.list()).toHaveLength(1);

    await writeFile(lock, '');
    let done = false;
    const adding = secrets.add([secret()]).then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(done).toBe(false);
    await rm(lock);
    await adding;
    expect(await secrets.list()).toHaveLength(2);
  });
});
