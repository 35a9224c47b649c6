// libsodium's native Ed25519 and X25519 against node:crypto's (OpenSSL): the same keys, secrets
// and signatures, the same verdicts, but for the one case libsodium refuses on purpose — an R of
// small order, which only the key's holder can produce (native-sodium.ts).
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeSodium } from '../src/crypto/native-sodium.js';
import { deriveAgentKeys, generatePrekey, openMessageV2, sealMessageV2 } from '../src/index.js';
import {
  boxKeyPairFromSecretKey,
  ed25519PublicKeyObject,
  sha512,
  signDetached,
  signingKeyPairFromSeed,
  verifyDetached,
  x25519,
  x25519FromSecret,
  x25519PublicKey,
} from '../src/crypto/primitives.js';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const littleEndian = (bytes: Uint8Array): bigint =>
  bytes.reduceRight((value, byte) => (value << 8n) | BigInt(byte), 0n);

function littleEndianBytes(value: bigint, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0, rest = value; i < length; i++, rest >>= 8n) bytes[i] = Number(rest & 0xffn);
  return bytes;
}

const nodeVerifies = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
  nodeVerify(null, message, ed25519PublicKeyObject(publicKey), signature);

const seeds = fc.uint8Array({ minLength: 32, maxLength: 32 });
const messages = fc.uint8Array({ maxLength: 300 });

describe('Ed25519 on libsodium (native) and on node:crypto', () => {
  // sodium-native ships binaries for glibc Linux, macOS and Windows on x64 and arm64; elsewhere
  // (musl, other CPUs) node:crypto is expected to do the work.
  const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
    ?.glibcVersionRuntime;
  const prebuilt =
    ['x64', 'arm64'].includes(process.arch) &&
    (process.platform === 'darwin' ||
      process.platform === 'win32' ||
      (process.platform === 'linux' && glibc !== undefined));

  it.runIf(prebuilt)('loads the native build on a platform it ships a binary for', () => {
    expect(nativeSodium).not.toBeNull();
  });

  it('signs and verifies with node:crypto a key not made here, as libsodium does', () => {
    const seed = new Uint8Array(32).fill(5);
    const made = signingKeyPairFromSeed(seed);
    // The same keys, imported directly: no raw bytes behind them, so node:crypto's branch runs.
    const privateKey = createPrivateKey(made.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const publicKey = createPublicKey(privateKey);
    const message = new TextEncoder().encode('either way');
    const signature = signDetached(privateKey, message);
    expect(signature).toEqual(signDetached(made.privateKey, message));
    expect(verifyDetached(publicKey, message, signature)).toBe(true);
    expect(verifyDetached(ed25519PublicKeyObject(made.publicKey), message, signature)).toBe(true);
    signature[0] = (signature[0] ?? 0) ^ 1;
    expect(verifyDetached(publicKey, message, signature)).toBe(false);
    expect(verifyDetached(publicKey, message, signature.subarray(1))).toBe(false);
  });

  it('answers false, not undefined, for input on shared memory', () => {
    const pair = signingKeyPairFromSeed(new Uint8Array(32).fill(6));
    const message = new Uint8Array(new SharedArrayBuffer(8));
    const signature = signDetached(pair.privateKey, new Uint8Array(8));
    const result = verifyDetached(ed25519PublicKeyObject(pair.publicKey), message, signature);
    expect(typeof result).toBe('boolean');
  });

  it('signs byte for byte as node:crypto does', () => {
    fc.assert(
      fc.property(seeds, messages, (seed, message) => {
        const pair = signingKeyPairFromSeed(seed);
        const signature = signDetached(pair.privateKey, message);
        expect(Buffer.from(signature)).toEqual(nodeSign(null, message, pair.privateKey));
      }),
      { numRuns: 300 },
    );
  });

  it('gives node:crypto’s verdict on honest, altered and non-canonical signatures', () => {
    fc.assert(
      fc.property(seeds, messages, fc.nat(511), (seed, message, bit) => {
        const pair = signingKeyPairFromSeed(seed);
        const key = ed25519PublicKeyObject(pair.publicKey);
        const signature = signDetached(pair.privateKey, message);
        const altered = Uint8Array.from(signature);
        altered[bit >> 3] = (altered[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        // S + L: the same point equation, S out of range — both refuse it (PROTOCOL §1).
        const sPlusL = Uint8Array.from(signature);
        sPlusL.set(littleEndianBytes(littleEndian(signature.subarray(32)) + L, 32), 32);
        for (const candidate of [signature, altered, sPlusL]) {
          expect(verifyDetached(key, message, candidate)).toBe(
            nodeVerifies(pair.publicKey, message, candidate),
          );
        }
        expect(verifyDetached(key, message, signature)).toBe(true);
        expect(verifyDetached(key, message, sPlusL)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses, where node:crypto accepts, a signature its key holder made with R the identity', () => {
    const seed = new Uint8Array(32).fill(9);
    const pair = signingKeyPairFromSeed(seed);
    const scalarBytes = sha512(seed).slice(0, 32);
    scalarBytes[0] = (scalarBytes[0] ?? 0) & 248;
    scalarBytes[31] = ((scalarBytes[31] ?? 0) & 127) | 64;
    const message = new TextEncoder().encode('small-order R');
    const identity = littleEndianBytes(1n, 32); // the neutral point, order 1
    const h =
      littleEndian(sha512(new Uint8Array([...identity, ...pair.publicKey, ...message]))) % L;
    const s = (h * (littleEndian(scalarBytes) % L)) % L; // S·B = h·A = R + h·A with R = 0
    const signature = new Uint8Array([...identity, ...littleEndianBytes(s, 32)]);
    expect(nodeVerifies(pair.publicKey, message, signature)).toBe(true);
    expect(verifyDetached(ed25519PublicKeyObject(pair.publicKey), message, signature)).toBe(false);
  });
});

/** node:crypto's X25519 on raw keys, as the contract did before libsodium. */
function nodeX25519Private(secretKey: Uint8Array): KeyObject {
  const d = Buffer.from(secretKey).toString('base64url');
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d, x: 'A'.repeat(43) },
    format: 'jwk',
  });
}

function nodeX25519(secretKey: Uint8Array, peer: Uint8Array): Uint8Array | null {
  try {
    const x = Buffer.from(peer).toString('base64url');
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
    return new Uint8Array(diffieHellman({ privateKey: nodeX25519Private(secretKey), publicKey }));
  } catch {
    return null;
  }
}

/** A Uint8Array of any realm (instanceof sees only this one's). */
function isForeignBytes(value: unknown): value is Uint8Array {
  return Object.prototype.toString.call(value) === '[object Uint8Array]';
}

const smallOrder = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
].map((hex) => new Uint8Array(Buffer.from(hex, 'hex')));

describe('X25519 on libsodium (native) and on node:crypto', () => {
  const keys = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it('derives the same public keys', () => {
    fc.assert(
      fc.property(keys, (secretKey) => {
        const expected = createPublicKey(nodeX25519Private(secretKey)).export({ format: 'jwk' }).x;
        expect(Buffer.from(x25519PublicKey(secretKey)).toString('base64url')).toBe(expected);
        expect(boxKeyPairFromSecretKey(secretKey).publicKey).toEqual(x25519PublicKey(secretKey));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees on shared secrets, and refuses small-order peers alike', () => {
    fc.assert(
      fc.property(keys, keys, fc.nat(smallOrder.length - 1), (secretKey, peer, weak) => {
        const own = boxKeyPairFromSecretKey(secretKey).privateKey;
        for (const candidate of [peer, smallOrder[weak] ?? peer]) {
          const expected = nodeX25519(secretKey, candidate);
          expect(x25519FromSecret(secretKey, candidate)).toEqual(expected);
          expect(x25519(own, candidate)).toEqual(expected);
          // A KeyObject made elsewhere has no raw secret here: node:crypto's branch.
          expect(x25519(nodeX25519Private(secretKey), candidate)).toEqual(expected);
        }
        expect(x25519FromSecret(secretKey, smallOrder[weak] ?? peer)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('answers null for a peer key that is not 32 bytes, on both paths', () => {
    const secretKey = new Uint8Array(32).fill(3);
    const strong = x25519PublicKey(new Uint8Array(32).fill(4));
    // Not small-order: a longer key starting with a good one is what OpenSSL's import would cut.
    for (const peer of [
      strong.subarray(0, 31),
      new Uint8Array([...strong, 1]),
      new Uint8Array([...strong, ...strong]),
    ]) {
      expect(x25519FromSecret(secretKey, peer)).toBeNull();
      expect(x25519(boxKeyPairFromSecretKey(secretKey).privateKey, peer)).toBeNull();
      expect(x25519(nodeX25519Private(secretKey), peer)).toBeNull();
    }
  });

  it('opens a v2 envelope with a prekey secret made in another realm', () => {
    const recipient = deriveAgentKeys(new Uint8Array(32).fill(1));
    const sender = deriveAgentKeys(new Uint8Array(32).fill(2));
    const { prekey, secretKey } = generatePrekey('bob', recipient);
    const sealed = sealMessageV2({ from: 'alice', to: 'bob', sender, prekey, body: 'hi' });
    const foreign: unknown = runInNewContext('new Uint8Array(32)');
    if (!isForeignBytes(foreign)) throw new Error('not a Uint8Array');
    foreign.set(secretKey);
    expect(foreign instanceof Uint8Array).toBe(false); // another realm's class
    const opened = openMessageV2(sealed.ciphertext, 'bob', { id: prekey.id, secretKey: foreign });
    expect(opened.ok).toBe(true);
  });
});
