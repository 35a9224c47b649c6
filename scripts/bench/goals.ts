// Issue 17's goals, each a ratio measured side by side in one run: a part of the benchmark that has
// goals answers a check per goal, and `--check` turns any failed check into a non-zero exit.
export interface GoalCheck {
  readonly goal: string;
  readonly value: string;
  readonly pass: boolean;
}

/** a / b, or NaN when either is missing (a check against NaN fails). */
export const ratioOf = (a: number | null | undefined, b: number | null | undefined): number =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? NaN : a / b;

/** Prints the checks; true when every one passed (none to check is none missed). */
export function printGoalChecks(checks: readonly GoalCheck[]): boolean {
  console.log('\ngoals:');
  if (checks.length === 0) console.log('  none for the parts that ran');
  for (const check of checks)
    console.log(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.goal}: ${check.value}`);
  const failed = checks.filter((check) => !check.pass).length;
  if (checks.length > 0)
    console.log(
      failed === 0 ? `  all ${checks.length} met` : `  ${failed} of ${checks.length} missed`,
    );
  return failed === 0;
}
