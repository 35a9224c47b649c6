// The DeadDrop home folder (PROTOCOL §1): `$DEADDROP_HOME`, default `~/.deaddrop`, mode 0700,
// holding `agents/<agentId>.json` (identity), `agents/<agentId>.state.json` (cursor, seen ids) and
// `agents/<agentId>.prekeys.json` (one-time prekey secrets).
import { chmod, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readClientEnv } from './env.js';

const PRIVATE_DIR_MODE = 0o700;

/** The home folder: the given one, else `DEADDROP_HOME`, else `~/.deaddrop`. */
export function resolveHome(home?: string): string {
  return resolve(home ?? readClientEnv().home ?? join(homedir(), '.deaddrop'));
}

export function agentsDir(home: string): string {
  return join(home, 'agents');
}

export function identityFilePath(home: string, agentId: string): string {
  return join(agentsDir(home), `${agentId}.json`);
}

export function stateFilePath(home: string, agentId: string): string {
  return join(agentsDir(home), `${agentId}.state.json`);
}

/** The secrets of the agent's one-time prekeys (PROTOCOL §10). */
export function prekeysFilePath(home: string, agentId: string): string {
  return join(agentsDir(home), `${agentId}.prekeys.json`);
}

/** Creates the home and agents folders as 0700 (the agents folder is tightened if it exists). */
export async function ensureHome(home: string): Promise<void> {
  const created = await mkdir(home, { recursive: true, mode: PRIVATE_DIR_MODE });
  // Only a folder we created is ours to chmod; DEADDROP_HOME may point at a shared parent.
  if (created !== undefined) await chmod(home, PRIVATE_DIR_MODE);
  const agents = agentsDir(home);
  await mkdir(agents, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(agents, PRIVATE_DIR_MODE);
}
