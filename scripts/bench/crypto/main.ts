// `npm run bench:crypto`: the crypto part of `npm run bench` on its own, bounded in time (each
// measured loop by `--seconds`, default 2, and by a count; the seal+open curve by `--seconds` per
// body size); prints a table and issue 17's crypto goals, with `--json` the whole result too, and
// writes scripts/bench/crypto-curve.svg. Runs the BUILT contract (the npm script builds first).
//
//   node --import tsx scripts/bench/crypto/main.ts [--seconds 2] [--json] [--check]
//
// --check: exit 3 when a goal (ours ≥ 1.0× libsodium-wrappers at every size) is missed.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { printGoalChecks } from '../goals.js';
import { cryptoRows, formatRows } from './crypto-rows.js';
import { runCryptoBench } from './run-crypto-bench.js';
import { CRYPTO_CHART_FILE, cryptoGoalChecks, sealOpenCurveChart } from './seal-open-curve.js';

const USAGE =
  'usage: node --import tsx scripts/bench/crypto/main.ts [--seconds 2] [--json] [--check]';
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0 && seconds <= 60)) {
  console.error(USAGE);
  process.exit(2);
}
const loadAtStart = os.loadavg().map((v) => v.toFixed(2));
const result = await runCryptoBench({ seconds });
console.log(formatRows(cryptoRows(result)));
console.log(
  `\nload average at start ${loadAtStart.join(' ')}, at end ${os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')} (${os.cpus().length} cores)`,
);
writeFileSync(CRYPTO_CHART_FILE, sealOpenCurveChart(result.curve));
console.log(`wrote ${CRYPTO_CHART_FILE}`);
if (values.json) console.log(JSON.stringify(result, null, 2));
const met = printGoalChecks(cryptoGoalChecks(result.curve));
if (values.check && !met) process.exit(3);
