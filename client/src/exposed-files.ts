// Warnings for identity files and folders that other users can get at: an identity file holds the
// agent's secret seed, and whoever can write the agents folder can swap an identity or its pins.
// The keystore creates them private (0600, 0700); this catches what was loosened since, or copied
// in with a umask's defaults.
import { stat } from 'node:fs/promises';
import { agentsDir, identityFilePath } from './home.js';

const GROUP_OR_OTHERS = 0o077;
const WRITABLE_BY_OTHERS = 0o022;
const STICKY = 0o1000;

/**
 * One warning per exposed path among: the home folder (if others may write to it: it can be a
 * shared parent, whose reading is none of ours), its agents folder, and each agent's file. The
 * CLI prints them on stderr, the MCP server logs them.
 */
export async function warnAboutExposedFiles(
  warn: (line: string) => void,
  home: string,
  agentIds: readonly string[],
): Promise<void> {
  // Windows has no such modes: node reports made-up ones.
  if (process.platform === 'win32') return;
  const homeMode = await modeOf(home);
  // /tmp-like folders (sticky) let nobody rename what is not theirs.
  if (
    homeMode !== undefined &&
    (homeMode & WRITABLE_BY_OTHERS) !== 0 &&
    (homeMode & STICKY) === 0
  ) {
    warn(warning(home, homeMode, 'others could replace the identities in it', 'go-w'));
  }
  const agents = agentsDir(home);
  const agentsMode = await modeOf(agents);
  if (agentsMode !== undefined && (agentsMode & GROUP_OR_OTHERS) !== 0) {
    warn(warning(agents, agentsMode, 'it holds the identities and their pins', '700'));
  }
  for (const agentId of agentIds) {
    const path = identityFilePath(home, agentId);
    const mode = await modeOf(path);
    if (mode !== undefined && (mode & GROUP_OR_OTHERS) !== 0) {
      warn(warning(path, mode, `it holds ${agentId}'s secret key`, '600'));
    }
  }
}

async function modeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777;
  } catch {
    // Missing or unreadable: loading the identity reports that, if it matters.
    return undefined;
  }
}

function warning(path: string, mode: number, why: string, chmodMode: string): string {
  return `${path} is ${access(mode)} by other users (mode ${mode.toString(8).padStart(4, '0')}) and ${why}; fix with: chmod ${chmodMode} ${shellQuoted(path)}`;
}

/** What the group and others bits allow, in words. */
function access(mode: number): string {
  const words = [
    ...((mode & 0o044) !== 0 ? ['readable'] : []),
    ...((mode & 0o022) !== 0 ? ['writable'] : []),
  ];
  return words.length === 0 ? 'accessible' : words.join(' and ');
}

/** The path as a shell word, so the fix can be pasted as it is. */
function shellQuoted(path: string): string {
  return /^[\w./@%+=:,-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
