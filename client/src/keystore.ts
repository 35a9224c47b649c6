// Identities on disk (PROTOCOL §1): `agents/<agentId>.json` holds the seed, the relay URL and the
// pins; it is written atomically with mode 0600 and never overwritten by `createIdentity`.
import { readdir, rm } from 'node:fs/promises';
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
import { isErrnoException, readJsonFile, writeFileAtomic } from './atomic-file.js';
import { DeadDropError } from './errors.js';
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
  return toIdentity(file, home);
}

export async function loadIdentity(
  agentId: string,
  options: KeystoreOptions = {},
): Promise<Identity> {
  checkAgentId(agentId);
  const home = resolveHome(options.home);
  const file = await readIdentityFile(home, agentId);
  if (file === undefined) {
    throw new DeadDropError(
      'IDENTITY_NOT_FOUND',
      `no identity "${agentId}" in ${home}; create it with: deaddrop init ${agentId} --server <url>`,
    );
  }
  return toIdentity(file, home);
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
    if (agentId.endsWith('.state')) continue;
    try {
      const file = await readIdentityFile(home, agentId);
      if (file === undefined) continue;
      const { agentKey, fingerprint: print, relayUrl, createdAt } = toIdentity(file, home);
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

/**
 * Sets (or, with `undefined`, removes) one pin. Re-reads the file first so pins written by another
 * process meanwhile survive, and keeps fields other tools may have added.
 */
export async function savePin(
  identity: Pick<Identity, 'home' | 'agentId'>,
  peerId: string,
  pin: Pin | undefined,
): Promise<Pins> {
  const file = await readIdentityFile(identity.home, identity.agentId);
  if (file === undefined) {
    throw new DeadDropError(
      'IDENTITY_NOT_FOUND',
      `identity "${identity.agentId}" disappeared from ${identity.home}`,
    );
  }
  const pins = new Map(file.pins);
  if (pin === undefined) pins.delete(peerId);
  else pins.set(peerId, pin);
  await writeFileAtomic(
    identityFilePath(identity.home, identity.agentId),
    serialize({ ...file, pins }),
  );
  return pins;
}

/** Step one of a rotation: records the new seed as pending, before the relay hears of it. */
export async function savePendingSeed(
  identity: Pick<Identity, 'home' | 'agentId'>,
  seed: Uint8Array,
): Promise<Identity> {
  const file = await requireIdentityFile(identity);
  const next: IdentityFile = { ...file, pendingSeed: toB64u(seed) };
  await writeFileAtomic(identityFilePath(identity.home, identity.agentId), serialize(next));
  return toIdentity(next, identity.home);
}

/**
 * The last step of a rotation the relay made: the pending seed becomes the seed, the seed joins
 * `previousSeeds` (retired at `now`), and previous seeds retired more than `keepForMs` ago go.
 */
export async function completeRotation(
  identity: Pick<Identity, 'home' | 'agentId'>,
  options: { readonly now: number; readonly keepForMs: number },
): Promise<Identity> {
  const file = await requireIdentityFile(identity);
  if (file.pendingSeed === undefined) throw new Error('no rotation is pending');
  const kept = file.previousSeeds.filter(
    (previous) => previous.retiredAt + options.keepForMs > options.now,
  );
  const { pendingSeed, ...rest } = file;
  const next: IdentityFile = {
    ...rest,
    seed: pendingSeed,
    previousSeeds: [...kept, { seed: file.seed, retiredAt: options.now }].slice(
      -PREVIOUS_SEEDS_MAX,
    ),
  };
  await writeFileAtomic(identityFilePath(identity.home, identity.agentId), serialize(next));
  return toIdentity(next, identity.home);
}

/** Forgets a pending seed the relay never took (its rotation failed), keeping everything else. */
export async function dropPendingSeed(
  identity: Pick<Identity, 'home' | 'agentId'>,
): Promise<Identity> {
  const rest: IdentityFile = { ...(await requireIdentityFile(identity)) };
  delete rest.pendingSeed;
  await writeFileAtomic(identityFilePath(identity.home, identity.agentId), serialize(rest));
  return toIdentity(rest, identity.home);
}

async function requireIdentityFile(
  identity: Pick<Identity, 'home' | 'agentId'>,
): Promise<IdentityFile> {
  const file = await readIdentityFile(identity.home, identity.agentId);
  if (file === undefined) {
    throw new DeadDropError(
      'IDENTITY_NOT_FOUND',
      `identity "${identity.agentId}" disappeared from ${identity.home}`,
    );
  }
  return file;
}

async function readIdentityFile(home: string, agentId: string): Promise<IdentityFile | undefined> {
  const path = identityFilePath(home, agentId);
  let json: unknown;
  try {
    json = await readJsonFile(path);
  } catch {
    throw corrupt(path, 'unreadable or not JSON');
  }
  if (json === undefined) return undefined;
  const parsed = identityFileSchema.safeParse(json);
  if (!parsed.success) throw corrupt(path, `bad field: ${issuePath(parsed.error)}`);
  if (parsed.data.agentId !== agentId) {
    throw corrupt(path, `it names agent "${parsed.data.agentId}"`);
  }
  return parsed.data;
}

function keysOf(text: string, home: string, agentId: string): AgentKeys {
  const seed = fromB64u(text);
  if (seed === null) throw corrupt(identityFilePath(home, agentId), 'bad seed');
  const keys = deriveAgentKeys(seed);
  seed.fill(0);
  return keys;
}

function toIdentity(file: IdentityFile, home: string): Identity {
  const keys = keysOf(file.seed, home, file.agentId);
  const pendingKeys =
    file.pendingSeed === undefined ? undefined : keysOf(file.pendingSeed, home, file.agentId);
  const previousKeys = file.previousSeeds
    .map((previous) => keysOf(previous.seed, home, file.agentId))
    .reverse();
  return {
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
}

function checkAgentId(agentId: string): void {
  assertAgentId(agentId);
  // `<id>.state.json` is where agent <id> keeps its state: an id ending in ".state" would collide.
  if (agentId.endsWith('.state')) {
    throw new DeadDropError('INVALID_AGENT_ID', `agent ids ending in ".state" are reserved`);
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
