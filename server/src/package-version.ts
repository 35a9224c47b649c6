// The server package's version, read from its package.json when asked: that file is one folder up
// from this module both in the sources (src, run under tsx) and in the build (dist).
import { readFileSync } from 'node:fs';

export function serverPackageVersion(): string {
  const manifest: unknown = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  );
  if (
    typeof manifest === 'object' &&
    manifest !== null &&
    'version' in manifest &&
    typeof manifest.version === 'string'
  ) {
    return manifest.version;
  }
  throw new Error('the server package.json has no version');
}
