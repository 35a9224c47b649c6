import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (the `@deaddrop/source` export condition), so tests
  // never run against a stale build. They must also be inlined: an externalised dependency would be
  // loaded by Node itself, which ignores Vite's conditions and would pick `dist/`.
  resolve: { conditions: ['@deaddrop/source'] },
  ssr: { resolve: { conditions: ['@deaddrop/source'], externalConditions: ['@deaddrop/source'] } },
  test: {
    include: ['*/src/**/*.test.ts', '*/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    server: { deps: { inline: [/@deaddrop\//] } },
  },
});
