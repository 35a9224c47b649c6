// Strict base64url without padding (PROTOCOL "Encodings"): a string that does not survive
// decode → encode unchanged is a bad encoding, so two spellings can never name one value.

const B64U = /^[A-Za-z0-9_-]*$/;

export function toB64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Decodes canonical b64u, or returns null for anything else. */
export function fromB64u(text: string): Uint8Array | null {
  if (!isCanonicalB64u(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Length in bytes of the value a canonical b64u string encodes, without decoding it. */
export function b64uDecodedLength(text: string): number {
  return Math.floor((text.length * 3) / 4);
}

const encoder = new TextEncoder();

/** The UTF-8 bytes of `text` in an array of their own (not a slice of Buffer's shared pool). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The parts one after another, in an array of their own: one copy of each. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Canonical-b64u test without decoding. Non-zero unused bits in the last character would decode to
 * the same bytes as the canonical spelling, so they are refused (ciphertexts reach a megabyte): alphabet, length, and zero
 * unused bits in the last character.
 */
export function isCanonicalB64u(text: string): boolean {
  const rest = text.length % 4;
  if (rest === 1 || !B64U.test(text)) return false;
  if (rest === 0) return true;
  const last = B64U_ALPHABET.indexOf(text.charAt(text.length - 1));
  return rest === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

/** The first byte of a canonical b64u string (at least two characters long). */
export function fromB64uByte0(text: string): number {
  return Buffer.from(text.slice(0, 4), 'base64url')[0] ?? -1;
}
