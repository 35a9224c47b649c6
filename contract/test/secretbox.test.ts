// XSalsa20-Poly1305 and the box built on it, byte for byte against tweetnacl at sizes across
// 0 … 1 MiB (the block and chunk boundaries included): libsodium's WebAssembly, which sealing and
// opening use once loaded, must never change a byte on the wire (PROTOCOL §2).
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  boxBeforeNm,
  boxKeyPairFromSecretKey,
  secretboxOpen,
  secretboxSeal,
  x25519,
} from '../src/crypto/primitives.js';
import { loadFastSecretbox } from '../src/index.js';

const SEED = 0x5eb0c5;
const KIB = 1024;
/** Salsa20 blocks are 64 bytes, Poly1305's 16; 16 KiB ± 1 straddles libsodium's chunking. */
const BOUNDARY_SIZES = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 4095, 4096];
const LARGE_BOUNDARY_SIZES = [16 * KIB - 1, 16 * KIB, 16 * KIB + 1, 64 * KIB - 1, 64 * KIB + 1];

/** Deterministic bytes (xorshift32) from a seed: fast at a megabyte, unlike fast-check's arrays. */
function bytesFrom(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

/** Seals with ours and with tweetnacl, compares, opens each with the other, then tampers. */
function checkSecretbox(seed: number, size: number, tamperAt: number): void {
  const key = bytesFrom(seed, 32);
  const nonce = bytesFrom(seed + 1, 24);
  const plain = bytesFrom(seed + 2, size);
  const ours = secretboxSeal(plain, nonce, key);
  const theirs = nacl.secretbox(plain, nonce, key);
  expect(Buffer.compare(ours, theirs)).toBe(0);
  expect(Buffer.compare(secretboxOpen(theirs, nonce, key) ?? new Uint8Array(1), plain)).toBe(0);
  expect(Buffer.compare(nacl.secretbox.open(ours, nonce, key) ?? new Uint8Array(1), plain)).toBe(0);
  const tampered = ours.slice();
  const at = tamperAt % tampered.length;
  tampered[at] = (tampered[at] ?? 0) ^ 0x01;
  expect(secretboxOpen(tampered, nonce, key)).toBeNull();
  expect(nacl.secretbox.open(tampered, nonce, key)).toBeNull();
}

describe('secretbox', () => {
  beforeAll(async () => {
    expect(await loadFastSecretbox()).toBe(true);
  });

  it('equals tweetnacl at the block boundaries, both ways, and refuses a tampered byte', () => {
    for (const size of [...BOUNDARY_SIZES, ...LARGE_BOUNDARY_SIZES])
      checkSecretbox(SEED + size, size, size * 7 + 3);
  });

  it('equals tweetnacl for random keys, nonces and bodies up to 64 KiB', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 64 * KIB + 64 })),
        fc.nat(),
        (seed, size, tamperAt) => {
          checkSecretbox(seed, size, tamperAt);
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('equals tweetnacl at 1 MiB', () => {
    checkSecretbox(SEED, 1024 * KIB, 1024 * KIB + 15); // the tampered byte: the body's last
    checkSecretbox(SEED + 1, 1024 * KIB, 0); // the MAC's first
  });

  it('boxes as nacl.box: X25519, HSalsa20, then the same secretbox', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.constantFrom(0, 63, 64, 65, 16 * KIB, 100 * KIB),
        (seed, size) => {
          const sender = nacl.box.keyPair.fromSecretKey(bytesFrom(seed, 32));
          const recipient = nacl.box.keyPair.fromSecretKey(bytesFrom(seed + 1, 32));
          const nonce = bytesFrom(seed + 2, 24);
          const plain = bytesFrom(seed + 3, size);
          const shared = x25519(
            boxKeyPairFromSecretKey(sender.secretKey).privateKey,
            recipient.publicKey,
          );
          if (shared === null) throw new Error('a random key came out weak');
          const ours = secretboxSeal(plain, nonce, boxBeforeNm(shared));
          const theirs = nacl.box(plain, nonce, recipient.publicKey, sender.secretKey);
          expect(Buffer.compare(ours, theirs)).toBe(0);
          const opened = nacl.box.open(ours, nonce, sender.publicKey, recipient.secretKey);
          expect(Buffer.compare(opened ?? new Uint8Array(1), plain)).toBe(0);
        },
      ),
      { seed: SEED, numRuns: 12 },
    );
  });
});
