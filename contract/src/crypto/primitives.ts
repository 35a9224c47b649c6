// The one module that touches key material. X25519 and Ed25519 run on node:crypto (same algorithms,
// same bytes, 10–100× faster than tweetnacl here — PROTOCOL §2 note); tweetnacl supplies HSalsa20,
// so box(plain) = secretbox(plain, nonce, HSalsa20(X25519(sk, pk))) exactly as nacl.box computes it.
// XSalsa20-Poly1305 (secretbox) runs on libsodium's WebAssembly once it has loaded, on tweetnacl
// until then: the same bytes either way (docs/performance.md has the measurement behind it).
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes as nodeRandomBytes,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  KeyObject,
} from 'node:crypto';
import nacl from 'tweetnacl';
import { concatBytes } from '../encoding/b64u.js';
import { nativeSodium } from './native-sodium.js';
import { isSmallOrderX25519 } from './x25519-small-order.js';

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const ZERO_16 = new Uint8Array(16);

// tweetnacl ships HSalsa20 in `nacl.lowlevel`, which its typings leave out.
interface NaclLowLevel {
  crypto_core_hsalsa20(
    out: Uint8Array,
    input: Uint8Array,
    key: Uint8Array,
    constant: Uint8Array,
  ): number;
}
const lowlevel = (nacl as unknown as { lowlevel: NaclLowLevel }).lowlevel;
const SIGMA = new Uint8Array(Buffer.from('expand 32-byte k', 'latin1'));

export const SIGNATURE_BYTES = 64;
export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const MAC_BYTES = 16;

export function randomBytes(length: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(length));
}

export function sha512(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(data).digest());
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** HMAC-SHA256 of `data` under `key` (both UTF-8 text), as lowercase hex. */
export function hmacSha256Hex(key: string, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

/** Whether two texts are equal, in time that depends on their length only (MACs, tokens). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' });
  if (x === undefined) throw new Error('not an OKP key');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

export interface SigningKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

// The raw keys behind the KeyObjects made here, for libsodium (native-sodium.ts), which takes
// bytes: a signing key as libsodium spells it (seed || public key), a verifying key as its 32
// bytes. Keyed by the KeyObject, so they live exactly as long as it does.
const libsodiumSecretKeys = new WeakMap<KeyObject, Uint8Array>();
const rawVerifyKeys = new WeakMap<KeyObject, Uint8Array>();

/** 32 bytes in a typed array of this realm or another: what the addon takes as a key. */
function isKeyBytes(bytes: Uint8Array): boolean {
  return ArrayBuffer.isView(bytes) && bytes.byteLength === KEY_BYTES;
}

export function signingKeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  const privateKey = importPrivateKey('Ed25519', ED25519_PKCS8_PREFIX, seed);
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  if (nativeSodium !== null && isKeyBytes(seed)) {
    libsodiumSecretKeys.set(privateKey, concatBytes(seed, publicKey));
  }
  return { privateKey, publicKey };
}

export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  const keyObject = importPublicKey('Ed25519', ED25519_SPKI_PREFIX, publicKey);
  if (nativeSodium !== null && isKeyBytes(publicKey)) {
    rawVerifyKeys.set(keyObject, Uint8Array.from(publicKey));
  }
  return keyObject;
}

// OpenSSL's DER decoders cost ~10× more than raw-key import through JWK (≈770 µs vs ≈70 µs per
// private key here), which dominated sealing. Node requires a 32-byte `x` in a private JWK but
// derives the public key from `d`; the DER path stays as the fallback if that ever changes.
const PLACEHOLDER_X = 'A'.repeat(43);

function importPrivateKey(
  crv: 'Ed25519' | 'X25519',
  pkcs8Prefix: Buffer,
  secret: Uint8Array,
): KeyObject {
  try {
    return createPrivateKey({
      key: { kty: 'OKP', crv, d: Buffer.from(secret).toString('base64url'), x: PLACEHOLDER_X },
      format: 'jwk',
    });
  } catch {
    return createPrivateKey({
      key: Buffer.concat([pkcs8Prefix, secret]),
      format: 'der',
      type: 'pkcs8',
    });
  }
}

function importPublicKey(
  crv: 'Ed25519' | 'X25519',
  spkiPrefix: Buffer,
  publicKey: Uint8Array,
): KeyObject {
  if (publicKey.length !== KEY_BYTES) {
    return createPublicKey({
      key: Buffer.concat([spkiPrefix, publicKey]),
      format: 'der',
      type: 'spki',
    });
  }
  return createPublicKey({
    key: { kty: 'OKP', crv, x: Buffer.from(publicKey).toString('base64url') },
    format: 'jwk',
  });
}

export function signDetached(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  const secretKey = libsodiumSecretKeys.get(privateKey);
  if (nativeSodium !== null && secretKey !== undefined) {
    const signature = new Uint8Array(SIGNATURE_BYTES);
    nativeSodium.crypto_sign_detached(signature, message, secretKey);
    return signature;
  }
  return new Uint8Array(nodeSign(null, message, privateKey));
}

/**
 * Ed25519 verification. Both libsodium and OpenSSL refuse a non-canonical S (S ≥ L), which
 * tweetnacl alone accepts; libsodium also an R of small order (native-sodium.ts).
 */
export function verifyDetached(
  publicKey: KeyObject,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  const rawKey = rawVerifyKeys.get(publicKey);
  if (nativeSodium !== null && rawKey !== undefined) {
    // `=== true`: the addon answers undefined, not false, for a view on shared memory.
    return nativeSodium.crypto_sign_verify_detached(signature, message, rawKey) === true;
  }
  try {
    return nodeVerify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}

export interface BoxKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

// The X25519 secrets behind the KeyObjects made here, for libsodium (as for Ed25519 above).
const rawBoxSecrets = new WeakMap<KeyObject, Uint8Array>();

export function boxKeyPairFromSecretKey(secretKey: Uint8Array): BoxKeyPair {
  const privateKey = importPrivateKey('X25519', X25519_PKCS8_PREFIX, secretKey);
  if (nativeSodium !== null && isKeyBytes(secretKey)) {
    const secret = Uint8Array.from(secretKey);
    rawBoxSecrets.set(privateKey, secret);
    return { privateKey, publicKey: x25519PublicKey(secret) };
  }
  return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) };
}

/** The X25519 public key of a 32-byte secret key (its base-point multiple). */
export function x25519PublicKey(secretKey: Uint8Array): Uint8Array {
  if (nativeSodium !== null && isKeyBytes(secretKey)) {
    const publicKey = new Uint8Array(KEY_BYTES);
    nativeSodium.crypto_scalarmult_base(publicKey, secretKey);
    return publicKey;
  }
  return rawPublicKey(createPublicKey(importPrivateKey('X25519', X25519_PKCS8_PREFIX, secretKey)));
}

function x25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  return importPublicKey('X25519', X25519_SPKI_PREFIX, publicKey);
}

/**
 * X25519 shared secret, or null when the peer key is of small order (an all-zero result, which
 * libsodium and OpenSSL refuse; tweetnacl would silently return zeros).
 */
export function x25519(
  privateKey: KeyObject,
  peerPublicKey: Uint8Array | KeyObject,
): Uint8Array | null {
  const raw = !(peerPublicKey instanceof KeyObject);
  // Refused on both paths: OpenSSL's DER import would read the first 32 bytes of a longer key.
  if (raw && peerPublicKey.length !== KEY_BYTES) return null;
  const secret = rawBoxSecrets.get(privateKey);
  if (secret !== undefined && raw) return x25519FromSecret(secret, peerPublicKey);
  try {
    const publicKey = raw ? x25519PublicKeyObject(peerPublicKey) : peerPublicKey;
    return new Uint8Array(diffieHellman({ privateKey, publicKey }));
  } catch {
    return null;
  }
}

/** `x25519` from the secret key's bytes: a sealer's fresh ephemeral key needs no KeyObject. */
export function x25519FromSecret(
  secretKey: Uint8Array,
  peerPublicKey: Uint8Array,
): Uint8Array | null {
  if (nativeSodium !== null && isKeyBytes(secretKey)) {
    const shared = new Uint8Array(KEY_BYTES);
    try {
      nativeSodium.crypto_scalarmult(shared, secretKey, peerPublicKey);
      return shared;
    } catch {
      return null; // an all-zero result (a small-order peer key), or a peer key not 32 bytes
    }
  }
  return x25519(importPrivateKey('X25519', X25519_PKCS8_PREFIX, secretKey), peerPublicKey);
}

/** nacl.box.before: HSalsa20 of the X25519 secret, the XSalsa20-Poly1305 key. */
export function boxBeforeNm(sharedSecret: Uint8Array): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  lowlevel.crypto_core_hsalsa20(key, ZERO_16, sharedSecret, SIGMA);
  return key;
}

/** XSalsa20-Poly1305 as nacl.secretbox: seal, and open (null when the MAC does not verify). */
interface Secretbox {
  seal(plain: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null;
}

const tweetnaclSecretbox: Secretbox = {
  seal: (plain, nonce, key) => nacl.secretbox(plain, nonce, key),
  open: (box, nonce, key) => nacl.secretbox.open(box, nonce, key),
};

// libsodium's WebAssembly is 2–5× tweetnacl's JavaScript from 4 KiB up, and faster at 100 B too
// (secretbox-candidates.ts), but it loads asynchronously (≈1.3 MB of JavaScript, 50–200 ms) while
// seal and open are synchronous: the first call starts the load, calls before it completes use
// tweetnacl, and a process that never hands the event loop a turn stays on tweetnacl. A process
// that does not seal or open (the relay) never loads it.
let secretbox: Secretbox = tweetnaclSecretbox;
let fastSecretboxLoad: Promise<boolean> | undefined;

async function loadLibsodiumSecretbox(): Promise<Secretbox> {
  const { default: sodium } = await import('libsodium-wrappers');
  await sodium.ready;
  return {
    seal: (plain, nonce, key) => sodium.crypto_secretbox_easy(plain, nonce, key),
    open: (box, nonce, key) => {
      // Checked here so that a short box is refused as tweetnacl refuses it, not by an exception.
      if (box.length < MAC_BYTES) return null;
      try {
        return sodium.crypto_secretbox_open_easy(box, nonce, key);
      } catch {
        return null; // libsodium-wrappers throws when the MAC does not verify
      }
    },
  };
}

/**
 * Loads libsodium's XSalsa20-Poly1305 (WebAssembly) for sealing and opening; resolves to whether
 * it is in use. Optional: the first seal or open starts the load anyway. Await it at start to have
 * the fast path from the first message (a benchmark, a burst of large messages at start-up).
 */
export function loadFastSecretbox(): Promise<boolean> {
  fastSecretboxLoad ??= loadLibsodiumSecretbox().then(
    (loaded) => {
      secretbox = loaded;
      return true;
    },
    () => false, // tweetnacl stays: the same bytes, slower
  );
  return fastSecretboxLoad;
}

export function secretboxSeal(plain: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  if (fastSecretboxLoad === undefined) void loadFastSecretbox();
  return secretbox.seal(plain, nonce, key);
}

export function secretboxOpen(
  box: Uint8Array,
  nonce: Uint8Array,
  key: Uint8Array,
): Uint8Array | null {
  if (fastSecretboxLoad === undefined) void loadFastSecretbox();
  return secretbox.open(box, nonce, key);
}

/**
 * A box key is weak when X25519 with it yields the all-zero secret (PROTOCOL §1): one of the
 * small-order encodings, compared rather than computed (x25519-small-order.ts says why).
 */
export function isStrongX25519PublicKey(publicKey: Uint8Array): boolean {
  return publicKey.length === KEY_BYTES && !isSmallOrderX25519(publicKey);
}
