// Sealed messages (PROTOCOL §2): a signed inner JSON document, padded (NIP-44 rule) and boxed to
// the recipient with a fresh ephemeral X25519 key, so the relay learns neither sender nor content.
// This is version 1, boxed to the recipient's identity key; v2 (one-time prekeys) is
// envelope-v2.ts; what both share is envelope-core.ts.
import { fromB64u, toB64u } from './encoding/b64u.js';
import { KEY_BYTES, MAC_BYTES, NONCE_BYTES } from './crypto/primitives.js';
import type { AgentKeys, AgentPublicKey } from './identity.js';
import {
  BODY_OVERHEAD_BYTES,
  MIN_PADDED_BYTES,
  boxedBytesFor,
  buildInnerBytes,
  openBoxed,
  signAndBox,
  type InnerInput,
  type OpenFailure,
  type OpenResult,
  type SealOverrides,
} from './envelope-core.js';
import type { JsonValue } from './json-value.js';

export { padLen } from './envelope-core.js';
export type { InnerInput, OpenFailure, OpenResult, SealOverrides, JsonValue };

export const ENVELOPE_VERSION = 0x01;
const HEADER_BYTES = 1 + KEY_BYTES + NONCE_BYTES;
/** 1 + 32 + 24 + 16 + 4 + 64: bytes an envelope adds before padding and base64. */
export const ENVELOPE_OVERHEAD_BYTES = HEADER_BYTES + BODY_OVERHEAD_BYTES;
/** The smallest valid ciphertext: an empty-looking inner still pads to 96 bytes. */
export const MIN_CIPHERTEXT_BYTES = HEADER_BYTES + MAC_BYTES + MIN_PADDED_BYTES;

/** What a sender seals to a recipient's identity key. */
export interface SealInput extends InnerInput {
  readonly recipient: Pick<AgentPublicKey, 'boxPublicKey'>;
}

export interface SealedMessage {
  readonly ciphertext: string;
  readonly id: string;
  readonly sentAt: number;
  readonly bytes: number;
}

export function sealMessage(input: SealInput, overrides: SealOverrides = {}): SealedMessage {
  const { innerBytes, id, sentAt } = buildInnerBytes(input, overrides);
  const sealed = sealInnerBytes(
    innerBytes,
    { sender: input.sender, recipient: input.recipient },
    overrides,
  );
  return { ...sealed, id, sentAt };
}

/** Decoded ciphertext bytes of the envelope around an inner document of `innerBytes` bytes. */
export function sealedBytesFor(innerBytes: number): number {
  return HEADER_BYTES + boxedBytesFor(innerBytes);
}

export interface SealParties {
  readonly sender: Pick<AgentKeys, 'signing'>;
  readonly recipient: Pick<AgentPublicKey, 'boxPublicKey'>;
}

/**
 * Signs, pads and boxes `innerBytes` exactly as given (PROTOCOL §2 steps 2–5). `sealMessage` is
 * the way to send; this is for tools and tests that must produce envelopes around inner documents
 * no honest sender writes (hostile-content tests, other implementations' vectors).
 */
export function sealInnerBytes(
  innerBytes: Uint8Array,
  parties: SealParties,
  overrides: Pick<SealOverrides, 'ephemeralSecretKey' | 'nonce'> = {},
): { readonly ciphertext: string; readonly bytes: number } {
  const envelope = signAndBox(
    new Uint8Array([ENVELOPE_VERSION]),
    innerBytes,
    parties.sender.signing,
    parties.recipient.boxPublicKey,
    overrides,
  );
  return { ciphertext: toB64u(envelope), bytes: envelope.length };
}

/**
 * Opens and authenticates an envelope addressed to `recipientId`. A valid result means the
 * signature matches `fromKey`; whether `fromKey` belongs to `from` is the caller's pin check.
 */
export function openMessage(
  ciphertext: string,
  recipientId: string,
  recipient: AgentKeys,
): OpenResult {
  const envelope = fromB64u(ciphertext);
  if (envelope === null) return { ok: false, reason: 'bad-encoding' };
  if (envelope.length < MIN_CIPHERTEXT_BYTES) return { ok: false, reason: 'too-short' };
  if (envelope[0] !== ENVELOPE_VERSION) return { ok: false, reason: 'bad-version' };
  return openBoxed(envelope.subarray(1), recipientId, {
    privateKey: recipient.box.privateKey,
    publicKey: recipient.boxPublicKey,
  });
}
