import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** How a test joins the slow tier: `// @module-tag slow` atop a file, or `{ tags: ['slow'] }`. */
const SLOW_TAG = /@module-tag slow\b|tags: \[[^\]]*'slow'/;

/**
 * Vitest's own order once it has timings from an earlier run here: failed files first, then the
 * longest. Without them (a fresh checkout, CI after `npm ci`) it keeps the glob's order, which puts
 * the long multi-process suites last, and one core idles while they finish: then the files with
 * slow tests go first, then `test/` suites before unit tests, larger files first.
 */
class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { cache, config } = this.ctx;
    const timed = files.every(
      (file) =>
        cache.getFileTestResults(`${file.project.name}:${relative(config.root, file.moduleId)}`) !==
        undefined,
    );
    if (timed) return super.sort(files);
    const rank = (file: TestSpecification): number =>
      (SLOW_TAG.test(readFileSync(file.moduleId, 'utf8')) ? 2e9 : 0) +
      (file.moduleId.includes('/test/') ? 1e9 : 0) +
      statSync(file.moduleId).size;
    return [...files].sort((a, b) => rank(b) - rank(a));
  }
}

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (the `@deaddrop/source` export condition), so tests
  // never run against a stale build. They must also be inlined: an externalised dependency would be
  // loaded by Node itself, which ignores Vite's conditions and would pick `dist/`.
  resolve: { conditions: ['@deaddrop/source'] },
  ssr: { resolve: { conditions: ['@deaddrop/source'], externalConditions: ['@deaddrop/source'] } },
  test: {
    include: ['*/src/**/*.test.ts', '*/test/**/*.test.ts'],
    // `npm run test:fast` is `vitest run --tags-filter='!slow'`; `npm test` runs every tier.
    tags: [
      {
        name: 'slow',
        description:
          'kills or restarts processes, starts Redis Clusters, builds the packages, measures memory or spawns dozens of processes: npm test only, not npm run test:fast',
      },
    ],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most tests wait on sockets and child processes, so one worker more than there are cores
    // keeps the cores busy.
    maxWorkers: availableParallelism() + 1,
    // Each worker process runs file after file: a fresh process and module graph per file cost
    // more CPU than the tests themselves. Files clean up after themselves (relays, stores,
    // spies, fake timers); `vi.stubEnv` is undone after each test.
    isolate: false,
    unstubEnvs: true,
    sequence: { sequencer: LongestFirstSequencer },
    server: { deps: { inline: [/@deaddrop\//] } },
  },
});
