// Weak X25519 public keys (PROTOCOL §1): those for which X25519 yields the all-zero shared secret,
// whatever the secret key. Since X25519 clamps every secret key to a multiple of the cofactor 8,
// those are exactly the points of order dividing 8 on Curve25519 and its twist, whose
// u-coordinates are 0, 1, p − 1 and the two of order 8; the field's non-canonical encodings p and
// p + 1 stand for 0 and 1 (the other values from p to 2^255 − 1 stand for 2…18, none small-order).
// X25519 ignores the top bit of the last byte (RFC 7748 §5), so the list is compared with it
// masked. This is libsodium's `has_small_order` list; a test checks it against X25519 itself.
//
// Why not ask X25519 (one key import and one scalar multiplication against a fixed key, ≈ 50 µs
// here): the check runs for every published prekey on the relay and every claimed prekey on the
// sender, and a comparison costs well under a microsecond.

const SMALL_ORDER_ENCODINGS: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0, order 2
  '0100000000000000000000000000000000000000000000000000000000000000', // 1, order 4
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p − 1, order 4 (twist)
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p, i.e. 0
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1, i.e. 1
].map((hex) => new Uint8Array(Buffer.from(hex, 'hex')));

const LAST = 31;

/** Whether a 32-byte X25519 public key is one of the small-order encodings above. */
export function isSmallOrderX25519(publicKey: Uint8Array): boolean {
  for (const weak of SMALL_ORDER_ENCODINGS) {
    let same = ((publicKey[LAST] ?? 0) & 0x7f) === weak[LAST];
    for (let i = 0; same && i < LAST; i++) same = publicKey[i] === weak[i];
    if (same) return true;
  }
  return false;
}
