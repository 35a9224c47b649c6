// The crypto benchmark (`npm run bench:crypto`, and a part of `npm run bench`): our envelope next
// to the same design on libsodium-wrappers and on tweetnacl (seal+open against body size, 100 B …
// 1 MiB, and in detail at 1 and 64 KiB), plain crypto_box_seal for reference, the relay's
// per-request proof verification, and what the envelope adds to a 1 KiB body.
import sodium from 'libsodium-wrappers';
import {
  deriveAgentKeys,
  generateSeed,
  loadFastSecretbox,
  randomBytes,
  sealMessage,
  toB64u,
} from '@deaddrop/contract';
import { benchEnvelopes, type EnvelopeBenchResult } from './envelope-bench.js';
import { BOX_KEY_DOMAIN, concat, innerJson } from './envelope-design.js';
import { check } from './measure-rate.js';
import { benchProof, type ProofBenchResult } from './proof-bench.js';
import { measureSealOpenCurve, type CurvePoint } from './seal-open-curve.js';

const SIZES = [1024, 65536];
const OVERHEAD_BODY_BYTES = 1024;

export interface EnvelopeOverhead {
  readonly bodyBytes: number;
  /** The signed JSON document inside the envelope. */
  readonly innerJsonBytes: number;
  /** The decoded envelope: header, MAC, length, signature and padding around the inner JSON. */
  readonly ciphertextBytes: number;
  /** The envelope as the relay stores and sends it. */
  readonly b64uChars: number;
}

export interface CryptoBenchResult {
  /** Whether our secretbox ran on libsodium's WebAssembly (false: tweetnacl, its fallback). */
  readonly fastSecretbox: boolean;
  /** Seal+open per second against body size, ours vs libsodium's and tweetnacl's envelope. */
  readonly curve: readonly CurvePoint[];
  readonly sizes: readonly EnvelopeBenchResult[];
  readonly proof: ProofBenchResult;
  readonly envelopeOverhead: EnvelopeOverhead;
}

/** Runs every crypto measurement; `seconds` bounds each measured loop (a max count bounds it too). */
export async function runCryptoBench({ seconds }: { seconds: number }): Promise<CryptoBenchResult> {
  if (!(seconds > 0)) throw new RangeError('seconds must be positive');
  await sodium.ready;
  // What a client has once it has sealed or opened anything; awaited so that every loop runs on it.
  const fastSecretbox = await loadFastSecretbox();
  const aliceSeed = generateSeed();
  const bobSeed = generateSeed();
  const alice = deriveAgentKeys(aliceSeed);
  const bob = deriveAgentKeys(bobSeed);
  // Bob's X25519 secret as deriveAgentKeys computes it (crypto_hash is SHA-512), as raw bytes.
  const bobBoxSecretKey = sodium.crypto_hash(concat(BOX_KEY_DOMAIN, bobSeed)).slice(0, 32);
  check(
    sodium.compare(sodium.crypto_scalarmult_base(bobBoxSecretKey), bob.boxPublicKey) === 0,
    'box key derivation',
  );
  const keys = { alice, bob, aliceSeed, bobBoxSecretKey };

  const curve = measureSealOpenCurve(seconds, keys);
  const sizes = SIZES.map((bodyBytes) => benchEnvelopes(bodyBytes, seconds, keys));
  const proof = benchProof(seconds, alice);
  const body = 'x'.repeat(OVERHEAD_BODY_BYTES);
  const sealed = sealMessage({ from: 'alice', sender: alice, to: 'bob', recipient: bob, body });
  const inner = innerJson('alice', alice.agentKey, 'bob', body, toB64u(randomBytes(16)));
  return {
    fastSecretbox,
    curve,
    sizes,
    proof,
    envelopeOverhead: {
      bodyBytes: OVERHEAD_BODY_BYTES,
      innerJsonBytes: Buffer.byteLength(inner),
      ciphertextBytes: sealed.bytes,
      b64uChars: sealed.ciphertext.length,
    },
  };
}
