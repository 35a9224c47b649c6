// The Python client's own unit tests (python/test/test_*.py: every v1/v1.1 known-answer vector,
// hostile content, the files and their locks, the Agent against a relay that lies), run by `npm
// test` with an interpreter that can import nacl; any failure fails this test. Skipped, saying
// why, only when no such interpreter exists here (.ci/run installs python3-nacl).
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NO_PYTHON, findPython, pythonRoot, runPython } from './python-process.js';

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

  it(
    'installs with pip from python/ (pyproject.toml) and runs from where it was installed',
    // A pip build takes seconds: npm test only, not npm run test:fast.
    { tags: ['slow'], timeout: UNIT_TESTS_TIMEOUT_MS },
    async (context) => {
      const pip = await runPython(['-m', 'pip', '--version'], {});
      if (pip.code !== 0) {
        context.skip('no pip for this interpreter');
        return;
      }
      const target = await mkdtemp(join(tmpdir(), 'deaddrop-pip-'));
      const build = await mkdtemp(join(tmpdir(), 'deaddrop-pip-build-'));
      try {
        // Offline: the interpreter's own setuptools, and its PyNaCl (not downloaded again).
        await cp(pythonRoot, build, {
          recursive: true,
          filter: (source) => !/(__pycache__|\/build$|egg-info)/.test(source),
        });
        const installed = await runPython(
          ['-m', 'pip', 'install', '--no-build-isolation', '--no-deps', '--target', target, build],
          {},
          undefined,
          UNIT_TESTS_TIMEOUT_MS,
        );
        if (/invalid command 'bdist_wheel'|No module named 'setuptools'/.test(installed.stderr)) {
          context.skip('this interpreter cannot build packages (no setuptools or wheel)');
          return;
        }
        expect(installed.code, installed.stderr).toBe(0);
        // Elsewhere than python/, so the copy imported is the installed one.
        const version = await runPython(
          [
            '-c',
            'import deaddrop, sys; print("deaddrop", deaddrop.__version__); sys.stdout.flush(); print(deaddrop.__file__, file=sys.stderr)',
          ],
          { PYTHONPATH: target },
          undefined,
          undefined,
          target,
        );
        expect(version.stderr.startsWith(join(target, 'deaddrop'))).toBe(true);
        expect(version.stdout).toBe('deaddrop 0.1.0\n');
        const script = await runPython(
          [join(target, 'bin', 'deaddrop-py'), '--version'],
          { PYTHONPATH: target },
          undefined,
          undefined,
          target,
        );
        expect(script.stdout).toBe('deaddrop 0.1.0\n');
      } finally {
        await rm(target, { recursive: true, force: true });
        await rm(build, { recursive: true, force: true });
      }
    },
  );
});
