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

const identityFileSchema = z.looseObject({
  v: z.literal(1),
  agentId: agentIdSchema,
  seed: b64uSchema(32, 'seed'),
  relayUrl: z.string(),
  createdAt: z.number().int().nonnegative(),
  pins: jsonObjectMap(agentIdSchema, pinSchema).default(new Map()),
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

function toIdentity(file: IdentityFile, home: string): Identity {
  const seed = fromB64u(file.seed);
  if (seed === null) throw corrupt(identityFilePath(home, file.agentId), 'bad seed');
  const keys = deriveAgentKeys(seed);
  seed.fill(0);
  return {
    agentId: file.agentId,
    agentKey: keys.agentKey,
    fingerprint: fingerprint(keys),
    keys,
    relayUrl: file.relayUrl,
    createdAt: file.createdAt,
    pins: file.pins,
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

function serialize(file: IdentityFile): string {
  return `${JSON.stringify({ ...file, pins: mapToJsonObject(file.pins) }, null, 2)}\n`;
}
