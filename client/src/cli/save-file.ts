// Where `receive` and `listen` put a file message: in the folder asked for, under the sender's name
// made safe (a bare name, no control characters, no leading dots, at most 255 bytes), never over an
// existing file — ` (1)`, ` (2)`, … before the extension instead — and readable by this user only.
import { open } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { CommandFailure } from './command.js';

const MAX_NAME_BYTES = 255;
/** Enough for any folder a person keeps; a bound all the same. */
const MAX_NUMBERED = 10_000;

// eslint-disable-next-line no-control-regex -- removing control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f/\\\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * The sender's filename as a name to save under: its last path segment, control characters, path
 * separators and bidi controls removed, leading dots stripped, cut to 255 UTF-8 bytes; when
 * nothing is left, `message-<uid>`.
 */
export function safeFilename(name: string | undefined, uid: string): string {
  const lastSegment = (name ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = lastSegment
    .replace(UNSAFE_CHARACTERS, '')
    .replace(/^[.\s]+/, '')
    .trimEnd();
  const safe = truncateUtf8(cleaned, MAX_NAME_BYTES);
  return safe === '' ? truncateUtf8(`message-${uid.replace(/[^\w-]/g, '')}`, MAX_NAME_BYTES) : safe;
}

/** `name` cut to at most `maxBytes` of UTF-8, never inside a character. */
function truncateUtf8(name: string, maxBytes: number): string {
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
 * existing file is never replaced; returns the path written.
 */
export async function saveNewFile(dir: string, name: string, bytes: Uint8Array): Promise<string> {
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
  throw new CommandFailure(`${MAX_NUMBERED} files named like ${name} already exist in ${dir}`);
}
