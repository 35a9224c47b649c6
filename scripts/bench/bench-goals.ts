// Every goal `npm run bench` checks (issue 17), from the parts that ran: `--check` exits non-zero
// when one is missed.
import type { BenchResults } from './bench-results.js';
import type { GoalCheck } from './goals.js';
import { cryptoGoalChecks } from './crypto/seal-open-curve.js';
import { sendGoalChecks } from './send.js';

export function benchGoalChecks(results: BenchResults): GoalCheck[] {
  return [
    ...(results.send === undefined ? [] : sendGoalChecks(results.send.ratios)),
    ...(results.crypto === undefined ? [] : cryptoGoalChecks(results.crypto.curve)),
  ];
}
