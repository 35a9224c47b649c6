// Ed25519 and X25519 on libsodium's native build (sodium-native), where this platform has one.
// Measured on the development machine (Node 20, OpenSSL 3.0.19), per call:
//
//   Ed25519 verify   58 µs   (node:crypto 141 µs, libsodium's WebAssembly 116 µs)
//   Ed25519 sign     19 µs   (node:crypto 51 µs)
//   X25519           34 µs   (node:crypto 58 µs with the peer's key import)
//   X25519 base      23 µs   (node:crypto 57 µs: import, derive, export)
//
// The relay verifies a signature on every authenticated call and every published prekey; the
// SDK seals (a signature, an ephemeral key pair, an X25519) and opens (an X25519, a verification)
// every message.
//
// The bytes are the same: X25519 and Ed25519 signatures are deterministic (RFC 7748, RFC 8032),
// and both libraries refuse a non-canonical S and an all-zero X25519 result (PROTOCOL §1).
// libsodium also refuses an R of small order, which only the key's holder can produce (a test
// shows the difference); PyNaCl, on libsodium too, does the same. Where the addon does not load
// (no prebuilt binary for the platform), node:crypto does the work.
import { createRequire } from 'node:module';

export interface NativeSodium {
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
  crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
  ): boolean | undefined; // undefined for a view on a SharedArrayBuffer
  crypto_scalarmult_base(publicKey: Uint8Array, secretKey: Uint8Array): void;
  /** Throws when the result is all zeros (a peer key of small order). */
  crypto_scalarmult(shared: Uint8Array, secretKey: Uint8Array, publicKey: Uint8Array): void;
}

const FUNCTIONS = [
  'crypto_sign_detached',
  'crypto_sign_verify_detached',
  'crypto_scalarmult_base',
  'crypto_scalarmult',
] as const satisfies readonly (keyof NativeSodium)[];

function isNativeSodium(loaded: unknown): loaded is NativeSodium {
  if (typeof loaded !== 'object' || loaded === null) return false;
  const candidate: Partial<Record<keyof NativeSodium, unknown>> = loaded;
  return FUNCTIONS.every((name) => typeof candidate[name] === 'function');
}

function load(): NativeSodium | null {
  try {
    const loaded: unknown = createRequire(import.meta.url)('sodium-native');
    return isNativeSodium(loaded) ? loaded : null;
  } catch {
    return null; // no binary for this platform: node:crypto, slower, the same bytes
  }
}

/** libsodium's native build, or null where it does not load. */
export const nativeSodium: NativeSodium | null = load();
