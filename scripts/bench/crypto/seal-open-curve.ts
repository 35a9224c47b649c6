// Seal+open per second against body size (100 B … 1 MiB): our envelope next to the same envelope
// on libsodium-wrappers and on tweetnacl, and issue 17's goal on it (ours ≥ 1.0× libsodium at
// every size). The three are measured in interleaved rounds, so that the load of a shared machine,
// which drifts over seconds, falls on each alike.
import { join } from 'node:path';
import sodium from 'libsodium-wrappers';
import nacl from 'tweetnacl';
import { openMessage, sealMessage } from '@deaddrop/contract';
import type { BenchKeys } from './envelope-bench.js';
import { makeEnvelope, type Envelope, type EnvelopeKeys } from './envelope-design.js';
import type { GoalCheck } from '../goals.js';
import { ROOT } from '../../load-support/child-processes.js';
import { throughputChart } from '../chart.js';
import { libsodiumPrimitives, tweetnaclPrimitives } from './library-primitives.js';
import { check } from './measure-rate.js';

export const CRYPTO_CHART_FILE = join(ROOT, 'scripts', 'bench', 'crypto-curve.svg');
const CURVE_SIZES = [100, 1024, 4096, 16384, 65536, 262144, 1048576] as const;
const ROUNDS = 10;

export interface CurvePoint {
  readonly bodyBytes: number;
  /** Seal+open per second, each. */
  readonly ours: number;
  readonly libsodium: number;
  readonly tweetnacl: number;
  readonly oursVsLibsodium: number;
  readonly oursVsTweetnacl: number;
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

export const sizeLabel = (bytes: number): string =>
  bytes >= 1048576 && bytes % 1048576 === 0
    ? `${bytes / 1048576} MiB`
    : bytes % 1024 === 0
      ? `${bytes / 1024} KiB`
      : `${bytes} B`;

interface Contender {
  /** One seal+open, checked. */
  readonly run: () => void;
  ops: number;
  ms: number;
}

/** Runs `contender` for at least one op and until `ms` have passed. */
function runSlice(contender: Contender, ms: number): void {
  const started = performance.now();
  let now = started;
  do {
    contender.run();
    contender.ops++;
    now = performance.now();
  } while (now - started < ms);
  contender.ms += now - started;
}

/**
 * Seal+open per second at each size for ours, libsodium's and tweetnacl's envelope; `seconds` is
 * the budget per size, shared by the three over ROUNDS interleaved rounds (each runs at least once
 * a round, so tweetnacl at 1 MiB, ≈0.3 s an op, can overrun it).
 */
export function measureSealOpenCurve(
  seconds: number,
  keys: BenchKeys,
  sizes: readonly number[] = CURVE_SIZES,
): CurvePoint[] {
  const { alice, bob, aliceSeed, bobBoxSecretKey } = keys;
  const envelopeKeys = (signSecretKey: Uint8Array): EnvelopeKeys => ({
    sender: alice,
    senderSignSecretKey: signSecretKey,
    recipientBoxPublicKey: bob.boxPublicKey,
    recipientBoxSecretKey: bobBoxSecretKey,
  });
  const libsodium = makeEnvelope(
    libsodiumPrimitives(),
    envelopeKeys(sodium.crypto_sign_seed_keypair(aliceSeed).privateKey),
  );
  const tweetnacl = makeEnvelope(
    tweetnaclPrimitives(),
    envelopeKeys(nacl.sign.keyPair.fromSeed(aliceSeed).secretKey),
  );
  return sizes.map((bodyBytes) => {
    const body = 'x'.repeat(bodyBytes);
    const sealInput = { from: 'alice', sender: alice, to: 'bob', recipient: bob, body };
    const other = (envelope: Envelope, name: string): Contender => ({
      run: () => {
        if (envelope.open(envelope.seal(body), 'bob')?.body !== body)
          throw new Error(`${name} envelope: open failed`);
      },
      ops: 0,
      ms: 0,
    });
    const contenders = [
      {
        run: () => {
          const opened = openMessage(sealMessage(sealInput).ciphertext, 'bob', bob);
          if (!opened.ok || opened.message.body !== body) throw new Error('ours: open failed');
        },
        ops: 0,
        ms: 0,
      },
      other(libsodium, 'libsodium'),
      other(tweetnacl, 'tweetnacl'),
    ] as const;
    // Warm-up, and the interoperability the comparison rests on: each opens what ours sealed.
    const oursSealed = sealMessage(sealInput).ciphertext;
    check(libsodium.open(oursSealed, 'bob')?.body === body, 'sealMessage opened by libsodium');
    check(tweetnacl.open(oursSealed, 'bob')?.body === body, 'sealMessage opened by tweetnacl');
    for (const contender of contenders) contender.run();
    const sliceMs = (seconds * 1000) / ROUNDS / contenders.length;
    for (let round = 0; round < ROUNDS; round++)
      for (const contender of contenders) runSlice(contender, sliceMs);
    const [ours, lib, tw] = contenders.map((c) => Math.round((c.ops * 1000) / c.ms));
    if (ours === undefined || lib === undefined || tw === undefined) throw new Error('unreachable');
    return {
      bodyBytes,
      ours,
      libsodium: lib,
      tweetnacl: tw,
      oursVsLibsodium: ratio(ours, lib),
      oursVsTweetnacl: ratio(ours, tw),
    };
  });
}

/** Issue 17's crypto goal: ours ≥ 1.0× libsodium-wrappers' envelope at every size measured. */
export function cryptoGoalChecks(curve: readonly CurvePoint[]): GoalCheck[] {
  return curve.map((point) => ({
    goal: `seal+open >= 1.0x libsodium-wrappers at ${sizeLabel(point.bodyBytes)}`,
    value: `${point.oursVsLibsodium.toFixed(2)}x (${point.ours}/s vs ${point.libsodium}/s)`,
    pass: point.oursVsLibsodium >= 1,
  }));
}

/** The curve as an SVG: seal+open per second against body size, both on log scales. */
export function sealOpenCurveChart(curve: readonly CurvePoint[]): string {
  const line = (name: string, y: (p: CurvePoint) => number) => ({
    name,
    points: curve.map((p) => ({ x: p.bodyBytes, y: y(p) })),
  });
  return throughputChart({
    title: 'seal+open per second vs body size (one core)',
    xLabel: 'body size',
    yLabel: 'seal+open / s (log)',
    xScale: 'log',
    yScale: 'log',
    xTickLabel: sizeLabel,
    series: [
      line('ours', (p) => p.ours),
      line('libsodium-wrappers', (p) => p.libsodium),
      line('tweetnacl', (p) => p.tweetnacl),
    ],
  });
}
