// The server package's version: its package.json is one folder up from this module in the sources (src, run under tsx) and in the build (dist).
import { readPackageVersion } from '@deaddrop/contract';

export function serverPackageVersion(): string {
  return readPackageVersion(new URL('../package.json', import.meta.url));
}
