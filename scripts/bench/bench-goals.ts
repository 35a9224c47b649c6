// Every goal `npm run bench` checks (issue 17), from the parts that ran: `--check` exits non-zero
// when one is missed.
import type { BenchResults } from './bench-results.js';
import { forwardSecrecyGoalChecks } from './forward-secrecy.js';
import type { GoalCheck } from './goals.js';
import { cryptoGoalChecks } from './crypto/seal-open-curve.js';
import { sendGoalChecks } from './send.js';
import { wakeUpGoalChecks } from './wake-up.js';

export function benchGoalChecks(results: BenchResults): GoalCheck[] {
  return [
    ...(results.send === undefined ? [] : sendGoalChecks(results.send.ratios)),
    ...(results.wakeUp === undefined ? [] : wakeUpGoalChecks(results.wakeUp)),
    ...(results.forwardSecrecy === undefined
      ? []
      : forwardSecrecyGoalChecks(results.forwardSecrecy)),
    ...(results.crypto === undefined ? [] : cryptoGoalChecks(results.crypto.curve)),
  ];
}
