// Candidates for XSalsa20-Poly1305 (nacl's secretbox) side by side, seal+open per second at body
// sizes from 100 B to 1 MiB, each checked byte-equal to tweetnacl first. How the contract's
// implementation was chosen (docs/performance.md); not part of `npm run bench`.
//
//   node --import tsx scripts/bench/crypto/secretbox-candidates.ts [--seconds 0.5]
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import sodium from 'libsodium-wrappers';
import { parseArgs } from 'node:util';
import nacl from 'tweetnacl';
import { check, measureRate } from './measure-rate.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '0.5' } } });
const seconds = Number(values.seconds);
const SIZES = [100, 1024, 4096, 16384, 65536, 262144, 1048576];

interface Candidate {
  readonly name: string;
  seal(plain: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  open(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null;
}

await sodium.ready;
const candidates: Candidate[] = [
  {
    name: 'tweetnacl',
    seal: (plain, nonce, key) => nacl.secretbox(plain, nonce, key),
    open: (box, nonce, key) => nacl.secretbox.open(box, nonce, key),
  },
  {
    name: '@noble/ciphers',
    seal: (plain, nonce, key) => xsalsa20poly1305(key, nonce).encrypt(plain),
    open: (box, nonce, key) => {
      try {
        return xsalsa20poly1305(key, nonce).decrypt(box);
      } catch {
        return null;
      }
    },
  },
  {
    name: 'libsodium-wrappers',
    seal: (plain, nonce, key) => sodium.crypto_secretbox_easy(plain, nonce, key),
    open: (box, nonce, key) => {
      try {
        return sodium.crypto_secretbox_open_easy(box, nonce, key);
      } catch {
        return null;
      }
    },
  },
];

const equal = (a: Uint8Array | null, b: Uint8Array): boolean =>
  a !== null && a.length === b.length && Buffer.compare(a, b) === 0;

const header = ['size', ...candidates.map((c) => c.name)];
console.log(header.join('\t'));
for (const size of SIZES) {
  const key = nacl.randomBytes(32);
  const nonce = nacl.randomBytes(24);
  const plain = nacl.randomBytes(size);
  const reference = nacl.secretbox(plain, nonce, key);
  const rates = candidates.map((c) => {
    check(equal(c.seal(plain, nonce, key), reference), `${c.name} seal at ${size}`);
    check(equal(c.open(reference, nonce, key), plain), `${c.name} open at ${size}`);
    return measureRate(() => {
      if (c.open(c.seal(plain, nonce, key), nonce, key) === null) throw new Error('open failed');
    }, seconds);
  });
  console.log([size, ...rates].join('\t'));
}
