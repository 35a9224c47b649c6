// Ed25519 on libsodium's native build (sodium-native), where this platform has one. Measured on
// the development machine (Node 20, OpenSSL 3.0.19): a verification costs 58 µs against 141 µs in
// node:crypto and 116 µs in libsodium's WebAssembly, a signature 19 µs against 51 µs. The relay
// verifies a signature on every authenticated call and every published prekey; the SDK on every
// message it opens and every prekey it claims.
//
// The bytes are the same: Ed25519 signatures are deterministic (RFC 8032), and both refuse a
// non-canonical S (PROTOCOL §1). libsodium also refuses an R of small order, which only the key's
// holder can produce (a test shows the difference); PyNaCl, on libsodium too, does the same.
// Where the addon does not load (no prebuilt binary for the platform), node:crypto does the work.
import { createRequire } from 'node:module';

export interface NativeEd25519 {
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
  crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
  ): boolean | undefined; // undefined for a view on a SharedArrayBuffer
}

function isNativeEd25519(loaded: unknown): loaded is NativeEd25519 {
  if (typeof loaded !== 'object' || loaded === null) return false;
  const candidate: Partial<Record<keyof NativeEd25519, unknown>> = loaded;
  return (
    typeof candidate.crypto_sign_detached === 'function' &&
    typeof candidate.crypto_sign_verify_detached === 'function'
  );
}

function load(): NativeEd25519 | null {
  try {
    const loaded: unknown = createRequire(import.meta.url)('sodium-native');
    return isNativeEd25519(loaded) ? loaded : null;
  } catch {
    return null; // no binary for this platform: node:crypto, slower, the same signatures
  }
}

/** libsodium's Ed25519, or null where it does not load. */
export const nativeEd25519: NativeEd25519 | null = load();
