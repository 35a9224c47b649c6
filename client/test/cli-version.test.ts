// `deaddrop --version` as a user runs it from the sources (tsx); the built bin is checked with the
// other installed entry points in mcp/test/mcp-binary.test.ts, after the one build they share.
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { runCliProcess } from './cli-process.js';

it('prints the client package version', async () => {
  const manifest = JSON.parse(
    await readFile(new URL('../package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  expect(await runCliProcess(['--version'], {})).toEqual({
    code: 0,
    stdout: `deaddrop ${manifest.version}\n`,
    stderr: '',
  });
});
