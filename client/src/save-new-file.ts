// Writing a received file without ever replacing one: in the folder the caller chose, under a name
// the caller made safe, ` (1)`, ` (2)`, … before the extension when the name is taken, readable by
// this user only. Shared by the CLI (`receive`/`listen --save-dir`) and the MCP server.
import { open } from 'node:fs/promises';
import { extname, join } from 'node:path';

const MAX_NAME_BYTES = 255;
/** Enough for any folder a person keeps; a bound all the same. */
const MAX_NUMBERED = 10_000;

/** `name` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function truncateUtf8(name: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const character of name) {
    bytes += Buffer.byteLength(character, 'utf8');
    if (bytes > maxBytes) break;
    end += character.length;
  }
  return name.slice(0, end);
}

/** `report (2).pdf` for `report.pdf`, kept within 255 bytes by shortening the stem. */
function numbered(name: string, n: number): string {
  if (n === 0) return name;
  const extension = extname(name);
  const suffix = ` (${n})${extension}`;
  const stem = name.slice(0, name.length - extension.length);
  return `${truncateUtf8(stem, MAX_NAME_BYTES - Buffer.byteLength(suffix, 'utf8'))}${suffix}`;
}

/**
 * Writes `bytes` into `dir` under `name` (already safe), mode 0600, opening with `wx` so an
 * existing file is never replaced; returns the path written, or null when every numbered name up to
 * the bound is taken.
 */
export async function saveNewFile(
  dir: string,
  name: string,
  bytes: Uint8Array,
): Promise<string | null> {
  for (let n = 0; n <= MAX_NUMBERED; n++) {
    const path = join(dir, numbered(name, n));
    let handle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'EEXIST') continue;
      throw error;
    }
    try {
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    return path;
  }
  return null;
}
