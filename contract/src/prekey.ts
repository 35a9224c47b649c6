// One-time prekeys (PROTOCOL §10): X25519 keys an agent publishes signed with its identity, so a
// sender can seal one message (envelope v2) to a key whose secret the recipient deletes after
// opening — a later theft of the seed then opens nothing sealed that way.
import { concatBytes, fromB64u, toB64u, utf8 } from './encoding/b64u.js';
import {
  KEY_BYTES,
  SIGNATURE_BYTES,
  boxKeyPairFromSecretKey,
  isStrongX25519PublicKey,
  randomBytes,
  signDetached,
  verifyDetached,
} from './crypto/primitives.js';
import type { AgentKeys, AgentPublicKey } from './identity.js';

export const PREKEY_ID_BYTES = 8;
const PREKEY_DOMAIN = utf8('deaddrop/prekey/v1');
const SEPARATOR = new Uint8Array([0]);

/** A prekey as published and claimed: all three fields b64u text. */
export interface Prekey {
  readonly id: string;
  readonly key: string;
  readonly sig: string;
}

/** A generated prekey with the secret only its owner keeps. */
export interface GeneratedPrekey {
  readonly prekey: Prekey;
  readonly secretKey: Uint8Array;
}

/** `"deaddrop/prekey/v1" \0 agentId \0 id \0 key`, id and key as their b64u text. */
export function prekeySignedBytes(agentId: string, id: string, key: string): Uint8Array {
  return concatBytes(
    PREKEY_DOMAIN,
    SEPARATOR,
    utf8(agentId),
    SEPARATOR,
    utf8(id),
    SEPARATOR,
    utf8(key),
  );
}

export function signPrekey(
  agentId: string,
  id: string,
  key: string,
  signer: Pick<AgentKeys, 'signing'>,
): string {
  return toB64u(signDetached(signer.signing.privateKey, prekeySignedBytes(agentId, id, key)));
}

/** Fixed id and secret for known-answer tests; production code leaves them random. */
export interface PrekeyOverrides {
  readonly id?: Uint8Array;
  readonly secretKey?: Uint8Array;
}

export function generatePrekey(
  agentId: string,
  signer: Pick<AgentKeys, 'signing'>,
  overrides: PrekeyOverrides = {},
): GeneratedPrekey {
  const idBytes = overrides.id ?? randomBytes(PREKEY_ID_BYTES);
  if (idBytes.length !== PREKEY_ID_BYTES) throw new RangeError('a prekey id is 8 bytes');
  const secretKey = overrides.secretKey ?? randomBytes(KEY_BYTES);
  const id = toB64u(idBytes);
  const key = toB64u(boxKeyPairFromSecretKey(secretKey).publicKey);
  return { prekey: { id, key, sig: signPrekey(agentId, id, key, signer) }, secretKey };
}

/** The prekey's X25519 public key when `key` is 32 bytes of canonical b64u and not weak. */
export function prekeyPublicKey(key: string): Uint8Array | null {
  const bytes = fromB64u(key);
  return bytes !== null && isStrongX25519PublicKey(bytes) ? bytes : null;
}

/**
 * Whether `prekey` is well formed (an 8-byte id, a 32-byte key that is not of small order, a
 * 64-byte signature) and signed by `signer` for `agentId`. The relay checks this against the
 * directory key; a sender against its pin.
 */
export function verifyPrekey(
  agentId: string,
  prekey: Prekey,
  signer: Pick<AgentPublicKey, 'verifyKey'>,
): boolean {
  return prekeyPublicKey(prekey.key) !== null && verifyPrekeySignature(agentId, prekey, signer);
}

/**
 * `verifyPrekey` but for the key's strength: for a caller that checked it already with
 * `prekeyPublicKey` (the relay, to answer a weak key with its own error).
 */
export function verifyPrekeySignature(
  agentId: string,
  prekey: Prekey,
  signer: Pick<AgentPublicKey, 'verifyKey'>,
): boolean {
  if (fromB64u(prekey.id)?.length !== PREKEY_ID_BYTES) return false;
  const sig = fromB64u(prekey.sig);
  if (sig?.length !== SIGNATURE_BYTES) return false;
  return verifyDetached(signer.verifyKey, prekeySignedBytes(agentId, prekey.id, prekey.key), sig);
}
