// The crypto results as `[measure, value, note]` rows: the table `npm run bench:crypto` prints and
// the crypto section of `npm run bench`'s report.
import type { SealOpenRates } from './envelope-bench.js';
import type { CryptoBenchResult } from './run-crypto-bench.js';
import { sizeLabel } from './seal-open-curve.js';

export type CryptoRow = readonly [label: string, value: string, note: string];

const n = (value: number): string => Math.round(value).toLocaleString('en-US');
const size = (bytes: number): string => (bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`);

export function cryptoRows(result: CryptoBenchResult): CryptoRow[] {
  const rows: CryptoRow[] = [];
  const secretbox = result.fastSecretbox ? 'libsodium WebAssembly' : 'tweetnacl (fallback)';
  rows.push(['ours: XSalsa20-Poly1305 on', secretbox, '']);
  for (const p of result.curve)
    rows.push([
      `seal+open ${sizeLabel(p.bodyBytes)}: ours / libsodium / tweetnacl`,
      `${n(p.ours)} / ${n(p.libsodium)} / ${n(p.tweetnacl)} /s`,
      `ours ${p.oursVsLibsodium.toFixed(2)}× libsodium, ${p.oursVsTweetnacl.toFixed(2)}× tweetnacl`,
    ]);
  for (const s of result.sizes) {
    const at = size(s.bodyBytes);
    const so = (r: Pick<SealOpenRates, 'seal' | 'open'>): string =>
      `seal ${n(r.seal)}/s, open ${n(r.open)}/s`;
    rows.push(
      [`ours seal+open ${at}`, `${n(s.ours.sealOpen)}/s`, so(s.ours)],
      [`ours v2 (prekey) seal+open ${at}`, `${n(s.oursV2.sealOpen)}/s`, so(s.oursV2)],
      [
        `v2 / v1 ${at}`,
        `${s.ratios.sealOpenV2VsV1.toFixed(2)}×`,
        'seal+open, prekey vs identity key',
      ],
      [
        `libsodium envelope seal+open ${at}`,
        `${n(s.libsodiumEnvelope.sealOpen)}/s`,
        so(s.libsodiumEnvelope),
      ],
      [
        `tweetnacl envelope seal+open ${at}`,
        `${n(s.tweetnaclEnvelope.sealOpen)}/s`,
        so(s.tweetnaclEnvelope),
      ],
      [
        `crypto_box_seal ${at}`,
        `${n(s.libsodiumBoxSeal.seal)}/s`,
        `open ${n(s.libsodiumBoxSeal.open)}/s; no signature`,
      ],
      [
        `ours / libsodium ${at}`,
        `${s.ratios.sealOpenVsLibsodium.toFixed(2)}×`,
        'seal+open, same envelope',
      ],
      [
        `ours / tweetnacl ${at}`,
        `${s.ratios.sealOpenVsTweetnacl.toFixed(2)}×`,
        'seal+open, same envelope',
      ],
    );
  }
  const o = result.envelopeOverhead;
  rows.push(
    [
      'proof verify (relay)',
      `${n(result.proof.verifyPerSecond)}/s`,
      'decode + checks + Ed25519, key cached, no store',
    ],
    ['proof create + encode (client)', `${n(result.proof.createPerSecond)}/s`, ''],
    [
      `inner JSON of a ${size(o.bodyBytes)} body`,
      `${n(o.innerJsonBytes)} B`,
      'the signed document the envelope seals',
    ],
    [
      `envelope of a ${size(o.bodyBytes)} body`,
      `${n(o.ciphertextBytes)} B`,
      `${n(o.b64uChars)} b64u chars, ${n(o.ciphertextBytes - o.bodyBytes)} B over the body`,
    ],
  );
  return rows;
}

/** The rows as aligned text: label left, value right, note after. */
export function formatRows(rows: readonly CryptoRow[]): string {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows
    .map(([label, value, note]) => `${label.padEnd(w0)}  ${value.padStart(w1)}  ${note}`.trimEnd())
    .join('\n');
}
