// Agent identity (PROTOCOL §1): one 32-byte seed yields an Ed25519 signing pair and an X25519 box
// pair; the public half travels as the agent key `ddk1_` + b64u(signPk || boxPk).
import type { KeyObject } from 'node:crypto';
import { concatBytes, fromB64u, toB64u, utf8 } from './encoding/b64u.js';
import { isStrongEd25519PublicKey } from './crypto/ed25519-point.js';
import {
  KEY_BYTES,
  boxKeyPairFromSecretKey,
  ed25519PublicKeyObject,
  isStrongX25519PublicKey,
  randomBytes,
  sha512,
  signingKeyPairFromSeed,
  type BoxKeyPair,
  type SigningKeyPair,
} from './crypto/primitives.js';

const AGENT_KEY_PREFIX = 'ddk1_';
const AGENT_KEY_LENGTH = 91;
const SEED_BYTES = 32;
const BOX_KEY_DOMAIN = utf8('deaddrop/box/v1');

/** A validated public agent key, with the signing key ready for node:crypto. */
export interface AgentPublicKey {
  readonly agentKey: string;
  readonly signPublicKey: Uint8Array;
  readonly boxPublicKey: Uint8Array;
  readonly verifyKey: KeyObject;
}

/** Everything an agent derives from its seed. The seed itself stays with the caller. */
export interface AgentKeys extends AgentPublicKey {
  readonly signing: SigningKeyPair;
  readonly box: BoxKeyPair;
}

export function generateSeed(): Uint8Array {
  return randomBytes(SEED_BYTES);
}

export function deriveAgentKeys(seed: Uint8Array): AgentKeys {
  if (seed.length !== SEED_BYTES) throw new Error(`seed must be ${SEED_BYTES} bytes`);
  const signing = signingKeyPairFromSeed(seed);
  const box = boxKeyPairFromSecretKey(
    sha512(concatBytes(BOX_KEY_DOMAIN, seed)).slice(0, KEY_BYTES),
  );
  return {
    agentKey: formatAgentKey(signing.publicKey, box.publicKey),
    signPublicKey: signing.publicKey,
    boxPublicKey: box.publicKey,
    verifyKey: ed25519PublicKeyObject(signing.publicKey),
    signing,
    box,
  };
}

export function formatAgentKey(signPublicKey: Uint8Array, boxPublicKey: Uint8Array): string {
  return AGENT_KEY_PREFIX + toB64u(concatBytes(signPublicKey, boxPublicKey));
}

/** Syntax only: prefix, length and canonical b64u. Cheap enough for a zod refinement. */
function isAgentKeySyntax(text: string): boolean {
  if (text.length !== AGENT_KEY_LENGTH || !text.startsWith(AGENT_KEY_PREFIX)) return false;
  return fromB64u(text.slice(AGENT_KEY_PREFIX.length))?.length === 2 * KEY_BYTES;
}

const parsedKeys = new Map<string, AgentPublicKey | null>();
/**
 * Enough for every agent of a relay holding its ~20,000 live streams to verify without a fresh
 * import. Each entry holds a node:crypto key object (≈ 4 KB of RSS), so the bound also caps this
 * memo's memory (≈ 80 MB).
 */
const PARSED_KEYS_MAX = 20_000;

/**
 * Parses and fully validates an agent key: syntax, canonical non-small-order Ed25519 point, and an
 * X25519 key that does not yield an all-zero secret. Returns null for anything else. Results are
 * memoised because the relay parses the same few keys on every request.
 */
export function parseAgentKey(text: string): AgentPublicKey | null {
  const cached = parsedKeys.get(text);
  if (cached !== undefined) {
    // Least recently used leaves first: a key in use moves to the back, so keys only seen once
    // (any input is schema-checked with this) cannot push out the agents that keep coming.
    parsedKeys.delete(text);
    parsedKeys.set(text, cached);
    return cached;
  }
  const parsed = parseUncached(text);
  // One entry leaves, not all of them: clearing at the bound made every active agent's next
  // request parse and import its key again, together, once a relay served more agents than that.
  if (parsedKeys.size >= PARSED_KEYS_MAX) {
    const oldest = parsedKeys.keys().next();
    if (oldest.done !== true) parsedKeys.delete(oldest.value);
  }
  parsedKeys.set(text, parsed);
  return parsed;
}

function parseUncached(text: string): AgentPublicKey | null {
  if (!isAgentKeySyntax(text)) return null;
  const raw = fromB64u(text.slice(AGENT_KEY_PREFIX.length));
  if (raw === null) return null;
  const signPublicKey = raw.slice(0, KEY_BYTES);
  const boxPublicKey = raw.slice(KEY_BYTES);
  if (!isStrongEd25519PublicKey(signPublicKey) || !isStrongX25519PublicKey(boxPublicKey))
    return null;
  return {
    agentKey: text,
    signPublicKey,
    boxPublicKey,
    verifyKey: ed25519PublicKeyObject(signPublicKey),
  };
}

/** First 10 bytes of SHA-512(signPk || boxPk), lowercase hex in five groups of four. */
export function fingerprint(key: Pick<AgentPublicKey, 'signPublicKey' | 'boxPublicKey'>): string {
  const hex = Buffer.from(
    sha512(concatBytes(key.signPublicKey, key.boxPublicKey)).subarray(0, 10),
  ).toString('hex');
  return hex.match(/.{4}/g)?.join('-') ?? hex;
}
