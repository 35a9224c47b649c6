// `npm run bench:crypto`: the crypto part of `npm run bench` on its own, bounded in time (each
// measured loop by `--seconds`, default 2, and by a count); prints a table, or with `--json` the
// whole result too. Runs the BUILT contract (the npm script builds first).
//
//   node --import tsx scripts/bench/crypto/main.ts [--seconds 2] [--json]
import { parseArgs } from 'node:util';
import { cryptoRows, formatRows } from './crypto-rows.js';
import { runCryptoBench } from './run-crypto-bench.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0 && seconds <= 60)) {
  console.error('usage: node --import tsx scripts/bench/crypto/main.ts [--seconds 2] [--json]');
  process.exit(2);
}
const result = await runCryptoBench({ seconds });
console.log(formatRows(cryptoRows(result)));
if (values.json) console.log(JSON.stringify(result, null, 2));
