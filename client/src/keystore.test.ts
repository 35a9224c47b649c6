import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deriveAgentKeys, fromB64u, generateSeed } from '@deaddrop/contract';
import { DeadDropError } from './errors.js';
import type { Pin } from './pins.js';
import {
  completeRotation,
  createIdentity,
  dropPendingSeed,
  identityFileChanged,
  listIdentities,
  scanIdentities,
  loadIdentity,
  removeIdentity,
  savePendingSeed,
  savePin,
  withIdentityLock,
} from './keystore.js';

let home: string;
const relayUrl = 'http://127.0.0.1:8000';

beforeEach(async () => {
  home = join(await mkdtemp(join(tmpdir(), 'deaddrop-keystore-')), 'home');
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(join(home, '..'), { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('createIdentity', () => {
  it('writes agents/<id>.json with mode 0600 in 0700 folders', async () => {
    const identity = await createIdentity('alice', { home, relayUrl, now: 1234 });
    const path = join(home, 'agents', 'alice.json');
    expect(await modeOf(home)).toBe(0o700);
    expect(await modeOf(join(home, 'agents'))).toBe(0o700);
    expect(await modeOf(path)).toBe(0o600);

    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(file).toEqual({
      v: 1,
      agentId: 'alice',
      seed: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown,
      relayUrl,
      createdAt: 1234,
      pins: {},
    });
    const seed = fromB64u(file.seed as string);
    expect(seed).not.toBeNull();
    if (seed === null) return;
    expect(deriveAgentKeys(seed).agentKey).toBe(identity.agentKey);
    expect(identity.fingerprint).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){4}$/);
  });

  it('leaves no temporary files behind', async () => {
    await createIdentity('alice', { home, relayUrl });
    expect(await readdir(join(home, 'agents'))).toEqual(['alice.json']);
  });

  it('refuses to overwrite an existing identity, leaving it intact', async () => {
    const seed = generateSeed();
    const first = await createIdentity('alice', { home, relayUrl, seed });
    const before = await readFile(join(home, 'agents', 'alice.json'), 'utf8');
    const attempt = createIdentity('alice', { home, relayUrl });
    await expect(attempt).rejects.toBeInstanceOf(DeadDropError);
    await expect(attempt).rejects.toMatchObject({ reason: 'IDENTITY_EXISTS' });
    expect(await readFile(join(home, 'agents', 'alice.json'), 'utf8')).toBe(before);
    expect((await loadIdentity('alice', { home })).agentKey).toBe(first.agentKey);
  });

  it('refuses racing creations of the same id: exactly one wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => createIdentity('alice', { home, relayUrl })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const winner = results.find((result) => result.status === 'fulfilled');
    expect((await loadIdentity('alice', { home })).agentKey).toBe(
      winner?.status === 'fulfilled' ? winner.value.agentKey : undefined,
    );
  });

  it('rejects invalid and reserved agent ids', async () => {
    await expect(createIdentity('Alice', { home, relayUrl })).rejects.toMatchObject({
      reason: 'INVALID_AGENT_ID',
    });
    await expect(createIdentity('../x', { home, relayUrl })).rejects.toMatchObject({
      reason: 'INVALID_AGENT_ID',
    });
    await expect(createIdentity('bob.state', { home, relayUrl })).rejects.toMatchObject({
      reason: 'INVALID_AGENT_ID',
    });
    // bob's prekey secrets live in agents/bob.prekeys.json.
    await expect(createIdentity('bob.prekeys', { home, relayUrl })).rejects.toMatchObject({
      reason: 'INVALID_AGENT_ID',
    });
  });

  it('rejects a relay URL that is not http(s)', async () => {
    await expect(createIdentity('alice', { home, relayUrl: 'ftp://x' })).rejects.toMatchObject({
      reason: 'INVALID_CONFIG',
    });
  });

  it('defaults to DEADDROP_HOME', async () => {
    vi.stubEnv('DEADDROP_HOME', home);
    await createIdentity('carol', { relayUrl });
    expect((await loadIdentity('carol')).home).toBe(home);
  });
});

describe('loadIdentity', () => {
  it('round-trips keys, relay URL and pins', async () => {
    const created = await createIdentity('alice', { home, relayUrl });
    const loaded = await loadIdentity('alice', { home });
    expect(loaded.agentKey).toBe(created.agentKey);
    expect(loaded.relayUrl).toBe(relayUrl);
    expect(loaded.pins).toEqual(new Map());
  });

  it('fails with IDENTITY_NOT_FOUND and says how to create one', async () => {
    await expect(loadIdentity('nobody', { home })).rejects.toMatchObject({
      reason: 'IDENTITY_NOT_FOUND',
      message: expect.stringContaining('deaddrop init nobody') as unknown,
    });
  });

  it('reports a damaged file without echoing its secret', async () => {
    await createIdentity('alice', { home, relayUrl });
    const path = join(home, 'agents', 'alice.json');
    const file = JSON.parse(await readFile(path, 'utf8')) as { seed: string };
    const secret = file.seed;
    await writeFile(path, JSON.stringify({ ...file, seed: `${secret}!` }));
    const error = await loadIdentity('alice', { home }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ reason: 'IDENTITY_CORRUPT' });
    expect((error as Error).message).not.toContain(secret);

    await writeFile(path, `{"seed":"${secret}", broken`);
    const parseError = await loadIdentity('alice', { home }).catch((caught: unknown) => caught);
    expect(parseError).toMatchObject({ reason: 'IDENTITY_CORRUPT' });
    expect((parseError as Error).message).not.toContain(secret);
  });
});

describe('savePin', () => {
  it('adds and removes pins, keeps other pins and unknown fields, stays 0600', async () => {
    const identity = await createIdentity('alice', { home, relayUrl });
    const path = join(home, 'agents', 'alice.json');
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    await writeFile(path, JSON.stringify({ ...file, note: 'kept' }), { mode: 0o600 });

    const bobPin: Pin = { key: 'ddk1_b', source: 'directory', pinnedAt: 1 };
    const carolPin: Pin = { key: 'ddk1_c', source: 'explicit', pinnedAt: 2 };
    await savePin(identity, 'bob', bobPin);
    const pins = await savePin(identity, 'carol', carolPin);
    expect(pins).toEqual(
      new Map([
        ['bob', bobPin],
        ['carol', carolPin],
      ]),
    );
    expect(await savePin(identity, 'bob', undefined)).toEqual(new Map([['carol', carolPin]]));

    const saved = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(saved.note).toBe('kept');
    expect(saved.pins).toEqual({ carol: carolPin });
    expect(await modeOf(path)).toBe(0o600);
    expect((await loadIdentity('alice', { home })).pins).toEqual(new Map([['carol', carolPin]]));
  });
});

describe('pins keyed by outside strings', () => {
  it('keeps a pin for an agent named constructor, and finds none for toString', async () => {
    const identity = await createIdentity('alice', { home, relayUrl });
    const pin = { key: 'ddk1_x', source: 'directory' as const, pinnedAt: 3 };
    await savePin(identity, 'constructor', pin);
    const loaded = await loadIdentity('alice', { home });
    expect(loaded.pins.get('constructor')).toEqual(pin);
    expect(loaded.pins.get('hasownproperty')).toBeUndefined();
    expect(loaded.pins.size).toBe(1);
  });

  it('refuses a file whose pins hold __proto__ instead of losing it or its prototype', async () => {
    const identity = await createIdentity('alice', { home, relayUrl });
    const path = join(home, 'agents', 'alice.json');
    const text = await readFile(path, 'utf8');
    await writeFile(
      path,
      text.replace(
        '"pins": {}',
        '"pins": {"__proto__": {"key": "k", "source": "explicit", "pinnedAt": 1}}',
      ),
      { mode: 0o600 },
    );
    expect(identity.pins.size).toBe(0);
    await expect(loadIdentity('alice', { home })).rejects.toMatchObject({
      reason: 'IDENTITY_CORRUPT',
    });
  });
});

describe('listIdentities', () => {
  it('lists identities sorted, skipping state and prekey files and junk', async () => {
    await createIdentity('bob', { home, relayUrl });
    const alice = await createIdentity('alice', { home, relayUrl });
    await writeFile(join(home, 'agents', 'alice.state.json'), '{"v":1}');
    await writeFile(join(home, 'agents', 'alice.prekeys.json'), '{"v":1,"agentId":"alice"}');
    await writeFile(join(home, 'agents', 'notes.txt'), 'hi');
    await writeFile(join(home, 'agents', 'broken.json'), '{');
    const { identities, damaged } = await scanIdentities({ home });
    expect(identities.map((entry) => entry.agentId)).toEqual(['alice', 'bob']);
    // The prekey file is nobody's damaged identity; the broken file is reported.
    expect(damaged.map((error) => error.message)).toEqual([
      expect.stringContaining('broken.json') as string,
    ]);
    const list = await listIdentities({ home });
    expect(list.map((entry) => entry.agentId)).toEqual(['alice', 'bob']);
    expect(list[0]).toEqual({
      agentId: 'alice',
      agentKey: alice.agentKey,
      fingerprint: alice.fingerprint,
      relayUrl,
      createdAt: alice.createdAt,
    });
    expect(JSON.stringify(list)).not.toContain('seed');
  });

  it('is empty for a missing home', async () => {
    expect(await listIdentities({ home: join(home, 'missing') })).toEqual([]);
  });
});

describe('removeIdentity', () => {
  it('deletes the identity and its state', async () => {
    const identity = await createIdentity('alice', { home, relayUrl });
    await writeFile(join(home, 'agents', 'alice.state.json'), '{"v":1}');
    await removeIdentity(identity);
    expect(await readdir(join(home, 'agents'))).toEqual([]);
  });
});

describe('rotation seeds', () => {
  it('moves the pending seed in, keeps retired seeds for keepForMs, and keeps pins', async () => {
    const identity = await createIdentity('alice', { home, relayUrl });
    const pin: Pin = { key: identity.agentKey, source: 'explicit', pinnedAt: 1 };
    await savePin(identity, 'bob', pin);
    const keysBySeed = async (seed: Uint8Array) => {
      const pending = await savePendingSeed(identity, seed);
      expect(pending.pendingKeys?.agentKey).toBe(deriveAgentKeys(seed).agentKey);
      // A pending seed's key opens mail too, before the current one's retired keys.
      expect(pending.otherKeys[0]?.agentKey).toBe(deriveAgentKeys(seed).agentKey);
      return deriveAgentKeys(seed).agentKey;
    };

    const second = await keysBySeed(generateSeed());
    let after = await completeRotation(identity, { newKey: second, now: 1000, keepForMs: 100 });
    expect(after.agentKey).toBe(second);
    expect(after.otherKeys.map((keys) => keys.agentKey)).toEqual([identity.agentKey]);

    const third = await keysBySeed(generateSeed());
    after = await completeRotation(identity, { newKey: third, now: 1050, keepForMs: 100 });
    expect(after.agentKey).toBe(third);
    expect(after.otherKeys.map((keys) => keys.agentKey)).toEqual([second, identity.agentKey]);

    const fourth = await keysBySeed(generateSeed());
    after = await completeRotation(identity, { newKey: fourth, now: 1200, keepForMs: 100 });
    // Retired at 1000 and 1050, kept until 1100 and 1150: both gone at 1200.
    expect(after.otherKeys.map((keys) => keys.agentKey)).toEqual([third]);
    expect(after.agentKey).toBe(fourth);
    expect(after.pins.get('bob')).toEqual(pin);

    const file = JSON.parse(await readFile(join(home, 'agents', 'alice.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(file.previousSeeds).toMatchObject([{ retiredAt: 1200 }]);
    expect(file.pendingSeed).toBeUndefined();
  });

  it('refuses to finish a rotation to a key the pending seed does not derive, keeping every seed', async () => {
    const identity = await createIdentity('dave', { home, relayUrl });
    const path = join(home, 'agents', 'dave.json');
    const other = deriveAgentKeys(generateSeed()).agentKey;
    const refusal = (pattern: RegExp) =>
      completeRotation(identity, { newKey: other, now: 1, keepForMs: 1 }).then(
        () => expect.unreachable('finished a rotation to another key'),
        (error: unknown) => {
          expect(error).toBeInstanceOf(DeadDropError);
          expect(error).toMatchObject({ reason: 'KEY_CHANGED' });
          expect(String(error)).toMatch(pattern);
        },
      );
    await refusal(/holds no pending seed/);
    await savePendingSeed(identity, generateSeed());
    const before = await readFile(path, 'utf8');
    await refusal(/derives another key/);
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('drops a pending seed the relay never took, keeping the seed', async () => {
    const identity = await createIdentity('carol', { home, relayUrl });
    await savePendingSeed(identity, generateSeed());
    const dropped = await dropPendingSeed(identity);
    expect(dropped.agentKey).toBe(identity.agentKey);
    expect(dropped.pendingKeys).toBeUndefined();
    expect((await loadIdentity('carol', { home })).otherKeys).toEqual([]);
  });
});

describe('the identity file lock', () => {
  // A sendMessage to a new contact during rotateKey: the pin's read-modify-write used to read the
  // file before the pending seed was written and write it back after, dropping the pending seed.
  it('loses neither a pin nor a pending seed when they are written at once', async () => {
    const identity = await createIdentity('erin', { home, relayUrl });
    const seed = generateSeed();
    const pendingKey = deriveAgentKeys(seed).agentKey;
    const pin = (n: number): Pin => ({ key: `ddk1_${n}`, source: 'directory', pinnedAt: n });
    await Promise.all([
      ...Array.from({ length: 10 }, (_, n) => savePin(identity, `peer-${n}`, pin(n))),
      savePendingSeed(identity, seed),
      ...Array.from({ length: 10 }, (_, n) => savePin(identity, `peer-${n + 10}`, pin(n + 10))),
    ]);
    const after = await loadIdentity('erin', { home });
    expect(after.pendingKeys?.agentKey).toBe(pendingKey);
    expect(after.pins.size).toBe(20);
    // The lock file is `<file>.lock`, and gone once released.
    expect(await readdir(join(home, 'agents'))).toEqual(['erin.json']);
  });

  it('holds the lock file while its work runs, and makes other changes wait', async () => {
    const identity = await createIdentity('fay', { home, relayUrl });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holding = withIdentityLock(identity, async (file) => {
      await held;
      return file.read();
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await readdir(join(home, 'agents'))).toEqual(['fay.json', 'fay.json.lock']);
    let pinned = false;
    const pinning = savePin(identity, 'bob', {
      key: 'ddk1_b',
      source: 'explicit',
      pinnedAt: 1,
    }).then(() => (pinned = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pinned).toBe(false);
    release();
    expect((await holding).pins.size).toBe(0);
    await pinning;
    expect((await loadIdentity('fay', { home })).pins.size).toBe(1);
  });

  it('tells whether the file changed since an identity was read from it', async () => {
    const identity = await createIdentity('gus', { home, relayUrl });
    expect(await identityFileChanged(identity)).toBe(false);
    const loaded = await loadIdentity('gus', { home });
    expect(await identityFileChanged(loaded)).toBe(false);
    await savePin(identity, 'bob', { key: 'ddk1_b', source: 'explicit', pinnedAt: 1 });
    expect(await identityFileChanged(loaded)).toBe(true);
    const pending = await savePendingSeed(identity, generateSeed());
    expect(await identityFileChanged(pending)).toBe(false);
    expect(await identityFileChanged({ ...pending })).toBe(true); // never read from the file
  });
});
