// Relay access keys (PROTOCOL §3): when configured, every procedure but `info` needs one.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time membership test; hashing first makes every comparison the same length. */
export function createApiKeyCheck(
  keys: readonly string[],
): ((presented: string | undefined) => boolean) | null {
  if (keys.length === 0) return null;
  const digests = keys.map(digest);
  return (presented) => {
    if (presented === undefined) return false;
    const candidate = digest(presented);
    let match = false;
    for (const known of digests) match = timingSafeEqual(known, candidate) || match;
    return match;
  };
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}
