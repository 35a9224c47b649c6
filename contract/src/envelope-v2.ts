// Envelope v2 (PROTOCOL §10): the §2 envelope boxed to a one-time prekey instead of the
// recipient's identity key, with the prekey's id in clear so the recipient knows which secret
// opens it: `0x02 || prekeyId[8] || E.pk[32] || nonce[24] || box`.
import { concatBytes, fromB64u, toB64u } from './encoding/b64u.js';
import { KEY_BYTES, MAC_BYTES, NONCE_BYTES, x25519PublicKey } from './crypto/primitives.js';
import {
  MIN_PADDED_BYTES,
  buildInnerBytes,
  openBoxed,
  signAndBox,
  type InnerInput,
  type OpenResult,
  type SealOverrides,
} from './envelope-core.js';
import type { SealedMessage } from './envelope.js';
import { PREKEY_ID_BYTES, prekeyPublicKey, type Prekey } from './prekey.js';

export const ENVELOPE_V2_VERSION = 0x02;
const HEADER_BYTES = 1 + PREKEY_ID_BYTES + KEY_BYTES + NONCE_BYTES;
/** 177: the v1 minimum plus the 8-byte prekey id. */
export const MIN_CIPHERTEXT_V2_BYTES = HEADER_BYTES + MAC_BYTES + MIN_PADDED_BYTES;

/** What a sender seals to a claimed prekey (verified beforehand against the recipient's pin). */
export interface SealV2Input extends InnerInput {
  readonly prekey: Pick<Prekey, 'id' | 'key'>;
}

export function sealMessageV2(input: SealV2Input, overrides: SealOverrides = {}): SealedMessage {
  const prekeyId = fromB64u(input.prekey.id);
  if (prekeyId?.length !== PREKEY_ID_BYTES) throw new TypeError('prekey id must be 8 bytes b64u');
  // The caller verified the prekey (verifyPrekey); checked again because a weak key would seal
  // to a secret anyone knows, and the check is a comparison (x25519-small-order.ts).
  const prekeyKey = prekeyPublicKey(input.prekey.key);
  if (prekeyKey === null) throw new TypeError('prekey key must be 32 bytes, b64u, not weak');
  const { innerBytes, id, sentAt } = buildInnerBytes(input, overrides);
  const header = concatBytes(new Uint8Array([ENVELOPE_V2_VERSION]), prekeyId);
  const envelope = signAndBox(header, innerBytes, input.sender.signing, prekeyKey, overrides);
  return { ciphertext: toB64u(envelope), bytes: envelope.length, id, sentAt };
}

/**
 * The prekey id a v2 ciphertext names, without opening it (to find the secret), or null when the
 * text is not a v2 envelope of at least the smallest size.
 */
export function readPrekeyId(ciphertext: string): string | null {
  const envelope = fromB64u(ciphertext);
  if (envelope === null || envelope.length < MIN_CIPHERTEXT_V2_BYTES) return null;
  if (envelope[0] !== ENVELOPE_V2_VERSION) return null;
  return toB64u(envelope.subarray(1, 1 + PREKEY_ID_BYTES));
}

/** The secret half of a prekey, as its owner keeps it. */
export interface PrekeySecret {
  readonly id: string;
  readonly secretKey: Uint8Array;
}

/** `prekey-unknown`: the envelope names another prekey than the secret given. */
export type OpenV2Result = OpenResult | { readonly ok: false; readonly reason: 'prekey-unknown' };

/**
 * Opens a v2 envelope addressed to `recipientId` with the prekey secret its id names (find it
 * with `readPrekeyId`). Checks as §2's table, with the v2 minimum size and version byte, then the
 * prekey id; the signature is checked over the prekey's public key.
 */
export function openMessageV2(
  ciphertext: string,
  recipientId: string,
  prekey: PrekeySecret,
): OpenV2Result {
  const envelope = fromB64u(ciphertext);
  if (envelope === null) return { ok: false, reason: 'bad-encoding' };
  if (envelope.length < MIN_CIPHERTEXT_V2_BYTES) return { ok: false, reason: 'too-short' };
  if (envelope[0] !== ENVELOPE_V2_VERSION) return { ok: false, reason: 'bad-version' };
  if (toB64u(envelope.subarray(1, 1 + PREKEY_ID_BYTES)) !== prekey.id) {
    return { ok: false, reason: 'prekey-unknown' };
  }
  if (prekey.secretKey.length !== KEY_BYTES) return { ok: false, reason: 'decrypt-failed' };
  return openBoxed(envelope.subarray(1 + PREKEY_ID_BYTES), recipientId, {
    privateKey: prekey.secretKey,
    publicKey: x25519PublicKey(prekey.secretKey),
  });
}
