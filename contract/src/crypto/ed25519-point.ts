// Strict Ed25519 public-key validation (PROTOCOL §1): the encoding must be a canonical point
// (RFC 8032 §5.1.3 decoding, y < p, no "negative zero" x) and must not be of small order, since
// a small-order key lets anyone forge signatures that verify for every message.

const P = 2n ** 255n - 19n;
const D = mod(-121665n * modInverse(121666n));
const SQRT_M1 = modPow(2n, (P - 1n) / 4n);

function mod(a: bigint): bigint {
  const r = a % P;
  return r >= 0n ? r : r + P;
}

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

function modInverse(a: bigint): bigint {
  return modPow(a, P - 2n);
}

interface ExtendedPoint {
  x: bigint;
  y: bigint;
  z: bigint;
  t: bigint;
}

function decodePoint(encoded: Uint8Array): ExtendedPoint | null {
  if (encoded.length !== 32) return null;
  const bytes = Uint8Array.from(encoded);
  const sign = (bytes[31] ?? 0) >> 7;
  bytes[31] = (bytes[31] ?? 0) & 0x7f;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(bytes[i] ?? 0);
  if (y >= P) return null;
  const y2 = (y * y) % P;
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  // x = u·v³·(u·v⁷)^((p−5)/8), RFC 8032 §5.1.3 step 3.
  const v3 = (v * v * v) % P;
  let x = (u * v3 * modPow(u * v3 * v3 * v, (P - 5n) / 8n)) % P;
  const vx2 = (v * x * x) % P;
  if (vx2 !== u) {
    if (vx2 !== mod(-u)) return null;
    x = (x * SQRT_M1) % P;
  }
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = P - x;
  return { x, y, z: 1n, t: (x * y) % P };
}

// Doubling in extended coordinates (a = −1), "dbl-2008-hwcd".
function double(p: ExtendedPoint): ExtendedPoint {
  const a = (p.x * p.x) % P;
  const b = (p.y * p.y) % P;
  const c = (2n * p.z * p.z) % P;
  const d = mod(-a);
  const e = mod((p.x + p.y) * (p.x + p.y) - a - b);
  const g = mod(d + b);
  const f = mod(g - c);
  const h = mod(d - b);
  return { x: (e * f) % P, y: (g * h) % P, z: (f * g) % P, t: (e * h) % P };
}

/** True when the bytes are a canonical Ed25519 point whose order is not small (not in the 8-torsion). */
export function isStrongEd25519PublicKey(encoded: Uint8Array): boolean {
  const point = decodePoint(encoded);
  if (point === null) return false;
  const eight = double(double(double(point)));
  // [8]P is the identity (0, 1) exactly when x = 0 and y = z.
  return !(eight.x === 0n && mod(eight.y - eight.z) === 0n);
}
