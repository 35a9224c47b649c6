// The Python client's own unit tests (python/test/test_*.py: every v1/v1.1 known-answer vector,
// hostile content, the files and their locks, the Agent against a relay that lies), run by `npm
// test` with an interpreter that can import nacl; any failure fails this test. Skipped, saying
// why, only when no such interpreter exists here (.ci/run installs python3-nacl).
import { describe, expect, it } from 'vitest';
import { NO_PYTHON, findPython, runPython } from './python-process.js';

const UNIT_TESTS_TIMEOUT_MS = 300_000;

describe('the Python client (python/deaddrop)', () => {
  const python = findPython();
  if (python === null) {
    it.skip(NO_PYTHON, () => undefined);
    return;
  }

  it(
    `passes its unit tests (${python} -m unittest)`,
    async () => {
      const run = await runPython(
        ['-m', 'unittest', 'discover', '-s', 'test', '-p', 'test_*.py'],
        {},
        undefined,
        UNIT_TESTS_TIMEOUT_MS,
      );
      // unittest reports on stderr; its last lines say how many ran and whether all passed.
      expect(run.stderr, run.stderr).toMatch(/\nOK\b/);
      expect(run.code, run.stderr).toBe(0);
    },
    UNIT_TESTS_TIMEOUT_MS,
  );
});
