// Identities on disk (PROTOCOL §1): `agents/<agentId>.json` holds the seed, the relay URL and the
// pins; it is written atomically with mode 0600 and never overwritten by `createIdentity`. Every
// change after creation is a read-modify-write under the file's lock (file-lock.ts): another
// process of the agent (the CLI beside an MCP server) may change it at the same time, and a lost
// update there loses a pin, or worse a seed.
import { open, readdir, rm, stat } from 'node:fs/promises';
import {
  agentIdSchema,
  b64uSchema,
  deriveAgentKeys,
  fingerprint,
  fromB64u,
  generateSeed,
  toB64u,
  type AgentKeys,
} from '@deaddrop/contract';
import { z } from 'zod';
import { isErrnoException, writeFileAtomic } from './atomic-file.js';
import { DeadDropError } from './errors.js';
import { withFileLock } from './file-lock.js';
import { agentsDir, ensureHome, identityFilePath, resolveHome, stateFilePath } from './home.js';
import { jsonObjectMap, mapToJsonObject } from './json-map.js';
import { pinSchema, type Pin, type Pins } from './pins.js';
import { normalizeRelayUrl } from './relay-url.js';
import { assertAgentId } from './validate-agent.js';

/** Seeds retired by rotations, kept to open mail sealed to their keys (PROTOCOL §10). */
const previousSeedSchema = z.object({
  seed: b64uSchema(32, 'seed'),
  retiredAt: z.number().int().nonnegative(),
});
/** More than any relay keeps rotations for; older ones are dropped first. */
const PREVIOUS_SEEDS_MAX = 16;
/**
 * How long a change waits for another process's lock on the identity file. A rotation holds it
 * across two relay requests (a lookup and `directory.rotate`), each up to the request timeout
 * (30 s by default); a pin saved meanwhile waits for it.
 */
const IDENTITY_LOCK_WAIT_MS = 90_000;

const identityFileSchema = z.looseObject({
  v: z.literal(1),
  agentId: agentIdSchema,
  seed: b64uSchema(32, 'seed'),
  relayUrl: z.string(),
  createdAt: z.number().int().nonnegative(),
  pins: jsonObjectMap(agentIdSchema, pinSchema).default(new Map()),
  previousSeeds: z.array(previousSeedSchema).max(PREVIOUS_SEEDS_MAX).default([]),
  /**
   * A rotation's new seed, written before the relay is asked to rotate, so a crash between the
   * relay's answer and the final write loses no seed (see rotateKey in client.ts).
   */
  pendingSeed: b64uSchema(32, 'pendingSeed').optional(),
});
type IdentityFile = z.infer<typeof identityFileSchema>;

/** A loaded identity. The seed stays on disk; only the derived keys (KeyObjects) live here. */
export interface Identity {
  readonly agentId: string;
  readonly agentKey: string;
  readonly fingerprint: string;
  readonly keys: AgentKeys;
  readonly relayUrl: string;
  readonly createdAt: number;
  readonly pins: Pins;
  /**
   * Keys mail may still be sealed to besides the current one, newest first: the previous seeds'
   * and a pending rotation's (the relay may have rotated to it before the file was finished).
   */
  readonly otherKeys: readonly AgentKeys[];
  /** The seed of a rotation begun and not finished, if any. */
  readonly pendingKeys: AgentKeys | undefined;
  /** The home folder the identity was loaded from, where its pins and state are saved. */
  readonly home: string;
}

/** What `listIdentities` shows: public facts only. */
export interface IdentitySummary {
  readonly agentId: string;
  readonly agentKey: string;
  readonly fingerprint: string;
  readonly relayUrl: string;
  readonly createdAt: number;
}

export interface KeystoreOptions {
  /** Defaults to `DEADDROP_HOME`, else `~/.deaddrop`. */
  readonly home?: string | undefined;
}

export interface CreateIdentityOptions extends KeystoreOptions {
  readonly relayUrl: string;
  /** For tests and imports; a fresh random seed otherwise. */
  readonly seed?: Uint8Array;
  readonly now?: number;
}

export async function createIdentity(
  agentId: string,
  options: CreateIdentityOptions,
): Promise<Identity> {
  checkAgentId(agentId);
  const home = resolveHome(options.home);
  const relayUrl = normalizeRelayUrl(options.relayUrl, 'relayUrl');
  const seed = options.seed ?? generateSeed();
  const file: IdentityFile = {
    v: 1,
    agentId,
    seed: toB64u(seed),
    relayUrl,
    createdAt: options.now ?? Date.now(),
    pins: new Map(),
    previousSeeds: [],
  };
  await ensureHome(home);
  const path = identityFilePath(home, agentId);
  try {
    await writeFileAtomic(path, serialize(file), { exclusive: true });
  } catch (error) {
    if (isErrnoException(error) && error.code === 'EEXIST') {
      throw new DeadDropError(
        'IDENTITY_EXISTS',
        `an identity "${agentId}" already exists in ${home}; it is never overwritten (use another --home or agent id)`,
      );
    }
    throw error;
  }
  return toIdentity(file, home, await stampOf(path));
}

export async function loadIdentity(
  agentId: string,
  options: KeystoreOptions = {},
): Promise<Identity> {
  checkAgentId(agentId);
  const home = resolveHome(options.home);
  const read = await readIdentityFile(home, agentId);
  if (read === undefined) {
    throw new DeadDropError(
      'IDENTITY_NOT_FOUND',
      `no identity "${agentId}" in ${home}; create it with: deaddrop init ${agentId} --server <url>`,
    );
  }
  return toIdentity(read.file, home, read.stamp);
}

/**
 * Whether the identity file is no longer the one `identity` was read from (or written as): another
 * process — or this one, saving a pin — wrote it since. One stat; an identity whose file was never
 * seen (made by hand) counts as changed.
 */
export async function identityFileChanged(identity: Identity): Promise<boolean> {
  const seen = stamps.get(identity);
  if (seen === undefined) return true;
  try {
    return (await stampOf(identityFilePath(identity.home, identity.agentId))) !== seen;
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return true;
    throw error;
  }
}

/** Identities in the home folder, sorted by agent id; unreadable files are skipped. */
export async function listIdentities(options: KeystoreOptions = {}): Promise<IdentitySummary[]> {
  return (await scanIdentities(options)).identities;
}

/** What `scanIdentities` found in a home folder. */
export interface IdentityScan {
  /** The readable identities, sorted by agent id. */
  readonly identities: IdentitySummary[];
  /** An IDENTITY_CORRUPT error for each `agents/<agentId>.json` that is not a valid identity. */
  readonly damaged: DeadDropError[];
}

/** The identities in the home folder, and the identity files that could not be read. */
export async function scanIdentities(options: KeystoreOptions = {}): Promise<IdentityScan> {
  const home = resolveHome(options.home);
  let names: string[];
  try {
    names = await readdir(agentsDir(home));
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return { identities: [], damaged: [] };
    throw error;
  }
  const identities: IdentitySummary[] = [];
  const damaged: DeadDropError[] = [];
  for (const name of names.sort()) {
    const match = /^(.+)\.json$/.exec(name);
    const agentId = match?.[1];
    // Other files (temporary ones, anything a user put there) do not claim to be identities.
    if (agentId === undefined || !agentIdSchema.safeParse(agentId).success) continue;
    // State and prekey files are not identities (and their names are refused as agent ids).
    if (hasReservedSuffix(agentId)) continue;
    try {
      const read = await readIdentityFile(home, agentId);
      if (read === undefined) continue;
      const { agentKey, fingerprint: print, relayUrl, createdAt } = toIdentity(read.file, home);
      identities.push({ agentId, agentKey, fingerprint: print, relayUrl, createdAt });
    } catch (error) {
      damaged.push(
        error instanceof DeadDropError
          ? error
          : corrupt(identityFilePath(home, agentId), 'its keys cannot be derived'),
      );
    }
  }
  return { identities, damaged };
}

/**
 * Deletes an identity and its state: its seed is gone for good. Meant for undoing an `init` whose
 * registration failed, before the identity was ever used.
 */
export async function removeIdentity(identity: Pick<Identity, 'home' | 'agentId'>): Promise<void> {
  await rm(identityFilePath(identity.home, identity.agentId), { force: true });
  await rm(stateFilePath(identity.home, identity.agentId), { force: true });
}

/** Names an identity file: which agent, in which home folder. */
type IdentityRef = Pick<Identity, 'home' | 'agentId'>;

/**
 * The identity file while its lock is held (`withIdentityLock`): each change re-reads the file, so
 * what another process wrote before the lock was taken survives.
 */
export interface LockedIdentityFile {
  /** The identity as the file holds it now. */
  read(): Promise<Identity>;
  /** Step one of a rotation: records the new seed as pending, before the relay hears of it. */
  savePendingSeed(seed: Uint8Array): Promise<Identity>;
  /**
   * The last step of a rotation the relay made to `newKey`: the pending seed becomes the seed, the
   * seed joins `previousSeeds` (retired at `now`), and previous seeds retired more than
   * `keepForMs` ago go. Refused, the file untouched, unless the pending seed derives `newKey`.
   */
  completeRotation(options: {
    readonly newKey: string;
    readonly now: number;
    readonly keepForMs: number;
  }): Promise<Identity>;
  /** Forgets a pending seed the relay never took (its rotation failed), keeping everything else. */
  dropPendingSeed(): Promise<Identity>;
}

/**
 * Runs `work` holding the identity file's lock (`agents/<agentId>.json.lock`, file-lock.ts). Not
 * re-entrant: nothing `work` awaits may change the identity file through the functions below.
 */
export function withIdentityLock<T>(
  identity: IdentityRef,
  work: (file: LockedIdentityFile) => Promise<T>,
): Promise<T> {
  const { home, agentId } = identity;
  const path = identityFilePath(home, agentId);
  const write = async (next: IdentityFile): Promise<Identity> => {
    await writeFileAtomic(path, serialize(next));
    // Under the lock nobody else writes: this stamp is the file just written.
    return toIdentity(next, home, await stampOf(path));
  };
  const file: LockedIdentityFile = {
    read: async () => {
      const { file: current, stamp } = await requireIdentityFile(identity);
      return toIdentity(current, home, stamp);
    },
    savePendingSeed: async (seed) => {
      const { file: current } = await requireIdentityFile(identity);
      return write({ ...current, pendingSeed: toB64u(seed) });
    },
    completeRotation: async ({ newKey, now, keepForMs }) => {
      const { file: current } = await requireIdentityFile(identity);
      const { pendingSeed, ...rest } = current;
      const pendingKey =
        pendingSeed === undefined ? undefined : keysOf(pendingSeed, home, agentId).agentKey;
      if (pendingSeed === undefined || pendingKey !== newKey) {
        // Promoting another seed would leave the relay on a key no seed on disk derives.
        throw new DeadDropError(
          'KEY_CHANGED',
          `refusing to finish the rotation of "${agentId}": the relay confirmed the key ${newKey}, but ${pendingSeed === undefined ? `${path} holds no pending seed` : `the pending seed in ${path} derives another key`}; the file is left as it was, every seed kept`,
        );
      }
      const kept = current.previousSeeds.filter((previous) => previous.retiredAt + keepForMs > now);
      return write({
        ...rest,
        seed: pendingSeed,
        previousSeeds: [...kept, { seed: current.seed, retiredAt: now }].slice(-PREVIOUS_SEEDS_MAX),
      });
    },
    dropPendingSeed: async () => {
      const rest: IdentityFile = { ...(await requireIdentityFile(identity)).file };
      delete rest.pendingSeed;
      return write(rest);
    },
  };
  return withFileLock(path, () => work(file), {
    holder: `other DeadDrop process of "${agentId}"`,
    waitMs: IDENTITY_LOCK_WAIT_MS,
  });
}

/**
 * Sets (or, with `undefined`, removes) one pin. Re-reads the file under its lock so pins written
 * by another process meanwhile survive, and keeps fields other tools may have added.
 */
export function savePin(
  identity: IdentityRef,
  peerId: string,
  pin: Pin | undefined,
): Promise<Pins> {
  const path = identityFilePath(identity.home, identity.agentId);
  return withIdentityLock(identity, async () => {
    const { file } = await requireIdentityFile(identity);
    const pins = new Map(file.pins);
    if (pin === undefined) pins.delete(peerId);
    else pins.set(peerId, pin);
    await writeFileAtomic(path, serialize({ ...file, pins }));
    return pins;
  });
}

/** `LockedIdentityFile.savePendingSeed`, taking the lock for just that. */
export function savePendingSeed(identity: IdentityRef, seed: Uint8Array): Promise<Identity> {
  return withIdentityLock(identity, (file) => file.savePendingSeed(seed));
}

/** `LockedIdentityFile.completeRotation`, taking the lock for just that. */
export function completeRotation(
  identity: IdentityRef,
  options: { readonly newKey: string; readonly now: number; readonly keepForMs: number },
): Promise<Identity> {
  return withIdentityLock(identity, (file) => file.completeRotation(options));
}

/** `LockedIdentityFile.dropPendingSeed`, taking the lock for just that. */
export function dropPendingSeed(identity: IdentityRef): Promise<Identity> {
  return withIdentityLock(identity, (file) => file.dropPendingSeed());
}

async function requireIdentityFile(identity: IdentityRef): Promise<ReadIdentityFile> {
  const read = await readIdentityFile(identity.home, identity.agentId);
  if (read === undefined) {
    throw new DeadDropError(
      'IDENTITY_NOT_FOUND',
      `identity "${identity.agentId}" disappeared from ${identity.home}`,
    );
  }
  return read;
}

/** What was read, and which file it was (`stampOf`): the stat is of the handle read through. */
interface ReadIdentityFile {
  readonly file: IdentityFile;
  readonly stamp: string;
}

/**
 * The stamps of the files identities were read from, so `identityFileChanged` can tell. Beside the
 * objects, not in them: `Identity` is public, and the stamp is no fact about the identity.
 */
const stamps = new WeakMap<Identity, string>();

/**
 * Tells one version of a file from another: every write renames a new file into place (a new
 * inode), and the size and nanosecond mtime guard against an inode number used again.
 */
function stampFrom(info: {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
}): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}`;
}

async function stampOf(path: string): Promise<string> {
  return stampFrom(await stat(path, { bigint: true }));
}

async function readIdentityFile(
  home: string,
  agentId: string,
): Promise<ReadIdentityFile | undefined> {
  const path = identityFilePath(home, agentId);
  let json: unknown;
  let stamp: string;
  try {
    const read = await readThroughHandle(path);
    if (read === undefined) return undefined;
    stamp = read.stamp;
    json = JSON.parse(read.text) as unknown;
  } catch {
    throw corrupt(path, 'unreadable or not JSON');
  }
  const parsed = identityFileSchema.safeParse(json);
  if (!parsed.success) throw corrupt(path, `bad field: ${issuePath(parsed.error)}`);
  if (parsed.data.agentId !== agentId) {
    throw corrupt(path, `it names agent "${parsed.data.agentId}"`);
  }
  return { file: parsed.data, stamp };
}

/** The file's text and stamp, both of the same version however it is replaced meanwhile. */
async function readThroughHandle(
  path: string,
): Promise<{ readonly text: string; readonly stamp: string } | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stamp = stampFrom(await handle.stat({ bigint: true }));
    return { text: await handle.readFile('utf8'), stamp };
  } finally {
    await handle.close();
  }
}

function keysOf(text: string, home: string, agentId: string): AgentKeys {
  const seed = fromB64u(text);
  if (seed === null) throw corrupt(identityFilePath(home, agentId), 'bad seed');
  const keys = deriveAgentKeys(seed);
  seed.fill(0);
  return keys;
}

function toIdentity(file: IdentityFile, home: string, stamp?: string): Identity {
  const keys = keysOf(file.seed, home, file.agentId);
  const pendingKeys =
    file.pendingSeed === undefined ? undefined : keysOf(file.pendingSeed, home, file.agentId);
  const previousKeys = file.previousSeeds
    .map((previous) => keysOf(previous.seed, home, file.agentId))
    .reverse();
  const identity: Identity = {
    agentId: file.agentId,
    agentKey: keys.agentKey,
    fingerprint: fingerprint(keys),
    keys,
    relayUrl: file.relayUrl,
    createdAt: file.createdAt,
    pins: file.pins,
    otherKeys: pendingKeys === undefined ? previousKeys : [pendingKeys, ...previousKeys],
    pendingKeys,
    home,
  };
  if (stamp !== undefined) stamps.set(identity, stamp);
  return identity;
}

/**
 * `<id>.state.json` and `<id>.prekeys.json` are where agent <id> keeps its state and its prekey
 * secrets: an id ending in ".state" or ".prekeys" would name the same file as another agent's.
 */
const RESERVED_SUFFIXES = ['.state', '.prekeys'] as const;

function hasReservedSuffix(agentId: string): boolean {
  return RESERVED_SUFFIXES.some((suffix) => agentId.endsWith(suffix));
}

function checkAgentId(agentId: string): void {
  assertAgentId(agentId);
  const suffix = RESERVED_SUFFIXES.find((reserved) => agentId.endsWith(reserved));
  if (suffix !== undefined) {
    throw new DeadDropError('INVALID_AGENT_ID', `agent ids ending in "${suffix}" are reserved`);
  }
}

/** Names the problem but never echoes file contents (nor a parser message quoting them): seeds. */
function corrupt(path: string, problem: string): DeadDropError {
  return new DeadDropError(
    'IDENTITY_CORRUPT',
    `${path} is not a valid DeadDrop identity file (${problem})`,
  );
}

function issuePath(error: z.ZodError): string {
  return error.issues.map((issue) => issue.path.map(String).join('.') || '(root)').join(', ');
}

/** `previousSeeds` is written only when there are some: an identity never rotated looks as in v1. */
function serialize(file: IdentityFile): string {
  const { previousSeeds, ...rest } = file;
  const fields = previousSeeds.length > 0 ? { ...rest, previousSeeds } : rest;
  return `${JSON.stringify({ ...fields, pins: mapToJsonObject(file.pins) }, null, 2)}\n`;
}
