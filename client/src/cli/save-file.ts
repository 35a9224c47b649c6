// Where `receive` and `listen` put a file message: in the folder asked for, under the sender's name
// made safe (a bare name, no control characters, no leading dots, at most 255 bytes), never over an
// existing file — ` (1)`, ` (2)`, … before the extension instead — and readable by this user only.
import { saveNewFile as saveUnclaimed, truncateUtf8 } from '../save-new-file.js';
import { CommandFailure } from './command.js';

const MAX_NAME_BYTES = 255;

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

/**
 * Writes `bytes` into `dir` under `name` (already safe), never over an existing file; returns the
 * path written.
 */
export async function saveNewFile(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = await saveUnclaimed(dir, name, bytes);
  if (path === null)
    throw new CommandFailure(`too many files named like ${name} already exist in ${dir}`);
  return path;
}
