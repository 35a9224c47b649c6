// `--save-dir` of receive and listen: checked once, before any message is taken from the relay.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CommandContext } from './command.js';
import { UsageError } from './parse-args.js';

/** The folder file messages are saved into: `--save-dir`, else the current folder. */
export async function saveDirOf(context: CommandContext): Promise<string> {
  const dir = resolve(context.values['save-dir'] ?? '.');
  const found = await stat(dir).catch(() => undefined);
  if (found?.isDirectory() !== true) {
    throw new UsageError(`--save-dir ${dir} is not a folder (file messages are saved there)`);
  }
  return dir;
}
