// The client package's version: its package.json is two folders up from this module in the sources (src/cli, run under tsx) and in the build (dist/cli).
import { readPackageVersion } from '@deaddrop/contract';

export function clientPackageVersion(): string {
  return readPackageVersion(new URL('../../package.json', import.meta.url));
}
