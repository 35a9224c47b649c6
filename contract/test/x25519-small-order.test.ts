// The small-order list against its definition (PROTOCOL §1): X25519 with the key yields the
// all-zero secret, which node:crypto refuses (x25519 answers null).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boxKeyPairFromSecretKey, x25519 } from '../src/crypto/primitives.js';
import { isSmallOrderX25519 } from '../src/crypto/x25519-small-order.js';

const secret = boxKeyPairFromSecretKey(new Uint8Array(32).fill(7)).privateKey;
const allZeroBySecret = (publicKey: Uint8Array): boolean => x25519(secret, publicKey) === null;

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const P_MINUS_1 = 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f';

/** The little-endian encoding of `p + k` for k in 0…18 (the field's non-canonical values). */
function pPlus(k: number): Uint8Array {
  const bytes = hex(P_MINUS_1);
  bytes[0] = 0xed + k; // 0xed + 18 = 0xff: no carry
  return bytes;
}

const withTopBit = (key: Uint8Array): Uint8Array => {
  const copy = Uint8Array.from(key);
  copy[31] = (copy[31] ?? 0) | 0x80;
  return copy;
};

describe('isSmallOrderX25519', () => {
  const listed = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    P_MINUS_1,
  ].map(hex);

  it('finds every small-order point, canonical or not, with the top bit clear or set', () => {
    for (const key of [...listed, pPlus(0), pPlus(1)]) {
      for (const spelling of [key, withTopBit(key)]) {
        expect(allZeroBySecret(spelling)).toBe(true);
        expect(isSmallOrderX25519(spelling)).toBe(true);
      }
    }
  });

  it('passes the other non-canonical values, p + 2 … p + 18', () => {
    for (let k = 2; k <= 18; k++) {
      for (const spelling of [pPlus(k), withTopBit(pPlus(k))]) {
        expect(allZeroBySecret(spelling)).toBe(false);
        expect(isSmallOrderX25519(spelling)).toBe(false);
      }
    }
  });

  it('passes keys one bit away from a listed one', () => {
    for (const key of listed) {
      for (let bit = 0; bit < 255; bit++) {
        const near = Uint8Array.from(key);
        near[bit >> 3] = (near[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(isSmallOrderX25519(near)).toBe(allZeroBySecret(near));
      }
    }
  });

  it('agrees with X25519 on arbitrary keys and secrets', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (publicKey, secretKey) => {
          const own = boxKeyPairFromSecretKey(secretKey).privateKey;
          expect(isSmallOrderX25519(publicKey)).toBe(x25519(own, publicKey) === null);
        },
      ),
      { numRuns: 500 },
    );
  });
});
