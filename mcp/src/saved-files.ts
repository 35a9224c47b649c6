// Files received as messages, saved where the model can open them (MCP_SAVE_DIR): a folder only
// this user can enter (0700), each file 0600, under a name made safe from the sender's, never
// overwriting one already there.
import { chmod, mkdir } from 'node:fs/promises';
import { extname } from 'node:path';
import { saveNewFile } from '@deaddrop/client';

const MAX_NAME_CHARS = 120;

/**
 * A name that is one plain file in the folder: the sender's (already a bare name, PROTOCOL §6)
 * with anything but letters, digits, `.`, `_`, `-` and spaces replaced, no leading dot (no hidden
 * files), bounded; `fallback` when nothing is left.
 */
export function safeFileName(sent: string | undefined, fallback: string): string {
  const cleaned = (sent ?? '')
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._ -]/gu, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  const ext = extname(cleaned).slice(0, 16);
  const stem = cleaned.slice(0, cleaned.length - extname(cleaned).length).slice(0, MAX_NAME_CHARS);
  return stem === '' ? fallback : `${stem}${ext}`;
}

/** Writes `data` to a new file in `dir` named after `name`; returns its path. */
export async function saveReceivedFile(
  dir: string,
  name: string,
  data: Uint8Array,
): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to folders it creates, and only through the umask.
  await chmod(dir, 0o700);
  const path = await saveNewFile(dir, name, data);
  if (path === null) throw new Error(`no free name for "${name}" in ${dir}`);
  return path;
}
