// The envelope of contract/src/envelope.ts rebuilt on another library's primitives, so that the
// benchmark compares the same bytes: version byte || E.pk || nonce || box(len || inner || Ed25519
// sig over ("deaddrop/msg/v1\0" || recipient box pk || inner) || zero padding), as b64u.
import { ENVELOPE_VERSION, fromB64u, padLen, toB64u, type AgentKeys } from '@deaddrop/contract';

const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const MAC_BYTES = 16;
const SIGNATURE_BYTES = 64;
const LENGTH_PREFIX_BYTES = 4;
const HEADER_BYTES = 1 + KEY_BYTES + NONCE_BYTES;
const MIN_CIPHERTEXT_BYTES = HEADER_BYTES + MAC_BYTES + 96;
const AGENT_KEY_PREFIX = 'ddk1_';
const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });
const SIGNATURE_DOMAIN = te.encode('deaddrop/msg/v1\0');
export const BOX_KEY_DOMAIN = te.encode('deaddrop/box/v1');

/** What one library provides for the envelope: randomness, Ed25519, X25519 + XSalsa20-Poly1305. */
export interface EnvelopePrimitives {
  randomBytes(n: number): Uint8Array;
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  boxKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array };
  box(
    plain: Uint8Array,
    nonce: Uint8Array,
    publicKey: Uint8Array,
    secretKey: Uint8Array,
  ): Uint8Array;
  /** The plaintext, or null when the MAC does not verify. */
  boxOpen(
    box: Uint8Array,
    nonce: Uint8Array,
    publicKey: Uint8Array,
    secretKey: Uint8Array,
  ): Uint8Array | null;
}

export interface EnvelopeKeys {
  readonly sender: AgentKeys;
  readonly senderSignSecretKey: Uint8Array;
  readonly recipientBoxPublicKey: Uint8Array;
  readonly recipientBoxSecretKey: Uint8Array;
}

/** The inner message as far as this benchmark reads it. */
export interface OpenedInner {
  readonly body: unknown;
  readonly to: unknown;
  readonly fromKey: unknown;
}

export interface Envelope {
  seal(body: string): string;
  /** The inner message, or null for anything that openMessage would refuse here. */
  open(ciphertext: string, recipientId: string): OpenedInner | null;
}

export function concat(...parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** sealMessage's inner document: the same keys in the same order (no replyTo). */
export function innerJson(
  from: string,
  fromKey: string,
  to: string,
  body: string,
  id: string,
): string {
  return JSON.stringify({ v: 1, id, kind: 'message', from, fromKey, to, sentAt: Date.now(), body });
}

/** length prefix || inner || signature, zero-padded to padLen (the NIP-44 rule ours uses). */
function padPlain(inner: Uint8Array, signature: Uint8Array): Uint8Array {
  const used = LENGTH_PREFIX_BYTES + inner.length + SIGNATURE_BYTES;
  const plain = new Uint8Array(padLen(used));
  new DataView(plain.buffer).setUint32(0, inner.length);
  plain.set(inner, LENGTH_PREFIX_BYTES);
  plain.set(signature, LENGTH_PREFIX_BYTES + inner.length);
  return plain;
}

/** Splits a padded plaintext as openMessage does (length, padding size, zero padding). */
function unpadPlain(plain: Uint8Array): { inner: Uint8Array; signature: Uint8Array } | null {
  const innerLength = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(0);
  const used = LENGTH_PREFIX_BYTES + innerLength + SIGNATURE_BYTES;
  if (used > plain.length || padLen(used) !== plain.length) return null;
  for (let i = used; i < plain.length; i++) if (plain[i] !== 0) return null;
  return {
    inner: plain.subarray(LENGTH_PREFIX_BYTES, LENGTH_PREFIX_BYTES + innerLength),
    signature: plain.subarray(LENGTH_PREFIX_BYTES + innerLength, used),
  };
}

function parseInner(bytes: Uint8Array): OpenedInner | null {
  try {
    const parsed: unknown = JSON.parse(td.decode(bytes));
    return typeof parsed === 'object' && parsed !== null ? (parsed as OpenedInner) : null;
  } catch {
    return null;
  }
}

/**
 * The envelope on `lib`. The bytes are the same as ours (the contract's toB64u/fromB64u for all, so
 * encoding costs the same): a libsodium-sealed envelope opens with openMessage and back. What
 * differs from ours: open does JSON.parse plus a check of `to` instead of the zod schema, and takes
 * the sender's Ed25519 key from `fromKey` through a small cache instead of parseAgentKey (which ours
 * also caches, after validating the points once); the library primitives replace node:crypto
 * X25519/Ed25519 + tweetnacl HSalsa20/XSalsa20-Poly1305.
 */
export function makeEnvelope(lib: EnvelopePrimitives, keys: EnvelopeKeys): Envelope {
  const { sender, senderSignSecretKey, recipientBoxPublicKey, recipientBoxSecretKey } = keys;
  const signKeys = new Map<string, Uint8Array>();
  function senderSignKey(fromKey: string): Uint8Array | null {
    let key = signKeys.get(fromKey);
    if (key === undefined) {
      const raw = fromB64u(fromKey.slice(AGENT_KEY_PREFIX.length));
      if (!fromKey.startsWith(AGENT_KEY_PREFIX) || raw?.length !== 2 * KEY_BYTES) return null;
      key = raw.slice(0, KEY_BYTES);
      signKeys.set(fromKey, key);
    }
    return key;
  }
  return {
    seal(body) {
      const id = toB64u(lib.randomBytes(16));
      const inner = te.encode(innerJson('alice', sender.agentKey, 'bob', body, id));
      const signature = lib.sign(
        concat(SIGNATURE_DOMAIN, recipientBoxPublicKey, inner),
        senderSignSecretKey,
      );
      const plain = padPlain(inner, signature);
      const ephemeral = lib.boxKeyPair();
      const nonce = lib.randomBytes(NONCE_BYTES);
      const box = lib.box(plain, nonce, recipientBoxPublicKey, ephemeral.secretKey);
      return toB64u(concat([ENVELOPE_VERSION], ephemeral.publicKey, nonce, box));
    },
    open(ciphertext, recipientId) {
      const envelope = fromB64u(ciphertext);
      if (envelope === null || envelope.length < MIN_CIPHERTEXT_BYTES) return null;
      if (envelope[0] !== ENVELOPE_VERSION) return null;
      const ephemeralPublicKey = envelope.subarray(1, 1 + KEY_BYTES);
      const nonce = envelope.subarray(1 + KEY_BYTES, HEADER_BYTES);
      const plain = lib.boxOpen(
        envelope.subarray(HEADER_BYTES),
        nonce,
        ephemeralPublicKey,
        recipientBoxSecretKey,
      );
      if (plain === null) return null;
      const parts = unpadPlain(plain);
      if (parts === null) return null;
      const message = parseInner(parts.inner);
      if (message === null || typeof message.fromKey !== 'string') return null;
      const verifyKey = senderSignKey(message.fromKey);
      if (verifyKey === null) return null;
      const signed = concat(SIGNATURE_DOMAIN, recipientBoxPublicKey, parts.inner);
      if (!lib.verify(parts.signature, signed, verifyKey)) return null;
      return message.to === recipientId ? message : null;
    },
  };
}
