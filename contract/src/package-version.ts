// A package's version, read from its package.json when asked (`--version`, `info`): every package
// finds its manifest at the same place relative to a module in its sources and in its build.
import { readFileSync } from 'node:fs';

export function readPackageVersion(manifest: URL): string {
  const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
  if (
    typeof parsed === 'object' &&
    parsed !== null &&
    'version' in parsed &&
    typeof parsed.version === 'string'
  ) {
    return parsed.version;
  }
  throw new Error(`${manifest.pathname} has no version`);
}
