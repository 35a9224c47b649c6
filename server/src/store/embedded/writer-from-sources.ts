// The writer thread's code when the relay runs from its TypeScript sources (vitest, `npm run dev`
// with tsx). Node 20 cannot load TypeScript by itself and tsx's hooks do not reach worker threads
// (not even with `--import tsx` in the worker's `execArgv`). Registering tsx inside each thread
// works but costs ≈ 0.45 s per store opened (a loader thread, then a transform per module), and the
// fast test tier opens about 90 stores. Instead the worker's sources are bundled once per process
// with esbuild (the compiler tsx and vite use) and each thread evaluates that bundle: ≈ 0.13 s per
// store. A built relay never comes here: it starts `dist/…/writer-worker.js` directly.
import { createRequire } from 'node:module';
import type * as Esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import { STARTUP_FAILED } from './writer-startup.js';

const WORKER_SOURCE = fileURLToPath(new URL('./writer-worker.ts', import.meta.url));

let bundled: string | undefined;

function relayDependencies(require: NodeJS.Require): string[] {
  const manifest = require('../../../package.json') as { dependencies?: Record<string, string> };
  return Object.keys(manifest.dependencies ?? {}).filter((name) => !name.startsWith('@deaddrop/'));
}

/**
 * Code for `new Worker(code, { eval: true })`: the writer and what it imports, as one CommonJS
 * script. Native and other external modules are required relative to the worker's source file,
 * not the process's working directory (an eval'd worker's own `require` starts there).
 */
export function writerWorkerFromSources(): string {
  if (bundled !== undefined) return bundled;
  const require = createRequire(import.meta.url);
  const esbuild = require('esbuild') as typeof Esbuild;
  const result = esbuild.buildSync({
    entryPoints: [WORKER_SOURCE],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // The workspace packages' TypeScript sources, as vitest and tsx resolve them.
    conditions: ['@deaddrop/source'],
    // The relay's dependencies load as they do in the built relay (better-sqlite3 is native);
    // the workspace's own packages are bundled from their sources.
    external: relayDependencies(require),
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error(`esbuild produced nothing for ${WORKER_SOURCE}`);
  // A failure while the bundle loads is reported through the start-up handshake at once, as the
  // worker reports its own, instead of leaving `open` to wait out its timeout.
  bundled = `(function (require) {
  try {
${code}
  } catch (error) {
    const { startup } = require('node:worker_threads').workerData;
    startup.errors.postMessage({ name: 'Error', message: String(error), code: undefined });
    Atomics.store(startup.state, 0, ${STARTUP_FAILED});
    Atomics.notify(startup.state, 0);
  }
})(require('node:module').createRequire(${JSON.stringify(WORKER_SOURCE)}));`;
  return bundled;
}
