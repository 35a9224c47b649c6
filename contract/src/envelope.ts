// Sealed messages (PROTOCOL §2): a signed inner JSON document, padded (NIP-44 rule) and boxed to
// the recipient with a fresh ephemeral X25519 key, so the relay learns neither sender nor content.
import { concatBytes, fromB64u, toB64u, utf8 } from './encoding/b64u.js';
import {
  KEY_BYTES,
  MAC_BYTES,
  NONCE_BYTES,
  SIGNATURE_BYTES,
  boxBeforeNm,
  boxKeyPairFromSecretKey,
  randomBytes,
  secretboxOpen,
  secretboxSeal,
  signDetached,
  verifyDetached,
  x25519,
} from './crypto/primitives.js';
import { parseAgentKey, type AgentKeys, type AgentPublicKey } from './identity.js';
import {
  innerMessageSchema,
  orderInnerFields,
  type InnerMessage,
  type InnerMessageKind,
  type InnerMessageOptions,
} from './inner-message.js';
import { MAX_BODY_DEPTH, isJsonValue, jsonTextDepthWithin, type JsonValue } from './json-value.js';

export const ENVELOPE_VERSION = 0x01;
const HEADER_BYTES = 1 + KEY_BYTES + NONCE_BYTES;
const LENGTH_PREFIX_BYTES = 4;
const SIGNATURE_DOMAIN = concatBytes(utf8('deaddrop/msg/v1'), new Uint8Array([0]));
/** 1 + 32 + 24 + 16 + 4 + 64: bytes an envelope adds before padding and base64. */
export const ENVELOPE_OVERHEAD_BYTES =
  HEADER_BYTES + MAC_BYTES + LENGTH_PREFIX_BYTES + SIGNATURE_BYTES;
/** The smallest valid ciphertext: an empty-looking inner still pads to 96 bytes. */
export const MIN_CIPHERTEXT_BYTES = HEADER_BYTES + MAC_BYTES + 96;

/** NIP-44 padding: 32-byte steps up to 256, then eighths of the next power of two. */
export function padLen(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('padLen takes a non-negative integer');
  if (n <= 32) return 32;
  const p = 2 ** (Math.floor(Math.log2(n - 1)) + 1);
  const chunk = p <= 256 ? 32 : p / 8;
  return chunk * (Math.floor((n - 1) / chunk) + 1);
}

export type { JsonValue };

/** The inner document nests one level more than its body: the document is an object. */
const MAX_INNER_DEPTH = MAX_BODY_DEPTH + 1;

/** What a sender seals; the v1.1 options (PROTOCOL §6, §7) are written only when set. */
export interface SealInput extends InnerMessageOptions {
  readonly from: string;
  readonly sender: AgentKeys;
  readonly to: string;
  readonly recipient: Pick<AgentPublicKey, 'boxPublicKey'>;
  /** Any JSON value; with `contentType`, the b64u of the content's bytes. */
  readonly body: JsonValue;
  readonly kind?: InnerMessageKind;
}

/** Fixed values for known-answer tests; production code leaves them random. */
export interface SealOverrides {
  readonly id?: string;
  readonly sentAt?: number;
  readonly ephemeralSecretKey?: Uint8Array;
  readonly nonce?: Uint8Array;
}

export interface SealedMessage {
  readonly ciphertext: string;
  readonly id: string;
  readonly sentAt: number;
  readonly bytes: number;
}

export function sealMessage(input: SealInput, overrides: SealOverrides = {}): SealedMessage {
  // Checked before anything is built: JSON.stringify would drop `undefined`, turn NaN into null
  // and overflow the stack on a deep or cyclic value; a receiver would refuse a body past the depth.
  if (!isJsonValue(input.body, MAX_BODY_DEPTH)) {
    throw new TypeError(
      `message body must be plain JSON (no undefined, functions, NaN, class instances or cycles) nesting at most ${MAX_BODY_DEPTH} levels deep`,
    );
  }
  const id = overrides.id ?? toB64u(randomBytes(16));
  const sentAt = overrides.sentAt ?? Date.now();
  const inner = orderInnerFields({
    ...input,
    id,
    kind: input.kind ?? 'message',
    fromKey: input.sender.agentKey,
    sentAt,
  });
  // What a receiver would refuse as bad-inner is refused here, by the same schema.
  const checked = innerMessageSchema.safeParse(inner);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    throw new TypeError(`cannot seal this message: ${where}${issue?.message ?? 'invalid'}`);
  }
  const sealed = sealInnerBytes(
    utf8(JSON.stringify(inner)),
    { sender: input.sender, recipient: input.recipient },
    overrides,
  );
  return { ...sealed, id, sentAt };
}

/** Decoded ciphertext bytes of the envelope around an inner document of `innerBytes` bytes. */
export function sealedBytesFor(innerBytes: number): number {
  return HEADER_BYTES + MAC_BYTES + padLen(LENGTH_PREFIX_BYTES + innerBytes + SIGNATURE_BYTES);
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
  const signature = signDetached(
    parties.sender.signing.privateKey,
    concatBytes(SIGNATURE_DOMAIN, parties.recipient.boxPublicKey, innerBytes),
  );
  const used = LENGTH_PREFIX_BYTES + innerBytes.length + SIGNATURE_BYTES;
  const plain = new Uint8Array(padLen(used));
  new DataView(plain.buffer).setUint32(0, innerBytes.length);
  plain.set(innerBytes, LENGTH_PREFIX_BYTES);
  plain.set(signature, LENGTH_PREFIX_BYTES + innerBytes.length);

  const ephemeral = boxKeyPairFromSecretKey(overrides.ephemeralSecretKey ?? randomBytes(KEY_BYTES));
  const nonce = overrides.nonce ?? randomBytes(NONCE_BYTES);
  const shared = x25519(ephemeral.privateKey, parties.recipient.boxPublicKey);
  if (shared === null) throw new Error('recipient box key is weak');
  const box = secretboxSeal(plain, nonce, boxBeforeNm(shared));
  const envelope = concatBytes(new Uint8Array([ENVELOPE_VERSION]), ephemeral.publicKey, nonce, box);
  return { ciphertext: toB64u(envelope), bytes: envelope.length };
}

export type OpenFailure =
  | 'bad-encoding'
  | 'bad-version'
  | 'too-short'
  | 'decrypt-failed'
  | 'bad-padding'
  | 'bad-inner'
  | 'bad-sender-key'
  | 'bad-signature'
  | 'wrong-recipient';

export type OpenResult =
  | { readonly ok: true; readonly message: InnerMessage; readonly senderKey: AgentPublicKey }
  | { readonly ok: false; readonly reason: OpenFailure };

const fail = (reason: OpenFailure): OpenResult => ({ ok: false, reason });

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
  if (envelope === null) return fail('bad-encoding');
  if (envelope.length < MIN_CIPHERTEXT_BYTES) return fail('too-short');
  if (envelope[0] !== ENVELOPE_VERSION) return fail('bad-version');
  const ephemeralPublicKey = envelope.subarray(1, 1 + KEY_BYTES);
  const nonce = envelope.subarray(1 + KEY_BYTES, HEADER_BYTES);
  const shared = x25519(recipient.box.privateKey, ephemeralPublicKey);
  if (shared === null) return fail('decrypt-failed');
  const plain = secretboxOpen(envelope.subarray(HEADER_BYTES), nonce, boxBeforeNm(shared));
  if (plain === null) return fail('decrypt-failed');

  const innerLength = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(0);
  const used = LENGTH_PREFIX_BYTES + innerLength + SIGNATURE_BYTES;
  if (used > plain.length || padLen(used) !== plain.length) return fail('bad-padding');
  for (let i = used; i < plain.length; i++) if (plain[i] !== 0) return fail('bad-padding');
  const innerBytes = plain.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + innerLength);
  const signature = plain.subarray(LENGTH_PREFIX_BYTES + innerLength, used);

  const inner = parseInner(innerBytes);
  if (inner === null) return fail('bad-inner');
  const senderKey = parseAgentKey(inner.fromKey);
  if (senderKey === null) return fail('bad-sender-key');
  const signed = concatBytes(SIGNATURE_DOMAIN, recipient.boxPublicKey, innerBytes);
  if (!verifyDetached(senderKey.verifyKey, signed, signature)) return fail('bad-signature');
  if (inner.to !== recipientId) return fail('wrong-recipient');
  return { ok: true, message: inner, senderKey };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The inner document, or null for anything a sender could put there that is not one: bytes that
 * are not UTF-8 or not JSON, nesting past the bound (refused before parsing), wrong fields. Never
 * throws, whatever the bytes (PROTOCOL §6 "Hostile content").
 */
function parseInner(innerBytes: Uint8Array): InnerMessage | null {
  try {
    const text = strictUtf8.decode(innerBytes);
    if (!jsonTextDepthWithin(text, MAX_INNER_DEPTH)) return null;
    const parsed = innerMessageSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
