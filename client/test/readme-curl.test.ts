// The README's curl examples, run as written (bash and curl) against a real relay: each command
// succeeds, and each answer has the fields the README shows for it. `npx deaddrop` is the CLI from
// the sources and http://127.0.0.1:8000 the test's relay; nothing else of the text is changed.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { DeadDropClient } from '../src/client.js';
import { createIdentity } from '../src/keystore.js';

const run = promisify(execFile);

const README_RELAY = 'http://127.0.0.1:8000';
const SECTION = '## Plain HTTP and curl';

/** Whether curl is installed: the examples are curl commands, run by nothing else. */
function hasCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Example {
  readonly command: string;
  /** The answer as the README shows it, `…` standing for what it leaves out. */
  readonly shown: string;
}

/** The `$ curl …` lines of the section's first console block, each with the line after it. */
async function readmeExamples(): Promise<Example[]> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(SECTION));
  const block = /```console\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const lines = block.split('\n');
  return lines.flatMap((line, at) =>
    line.startsWith('$ curl ') ? [{ command: line.slice(2), shown: lines[at + 1] ?? '' }] : [],
  );
}

/** The names of an object's own fields in JSON text, skipping nested objects, arrays and strings. */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let at = 0; at < json.length; at++) {
    const char = json[at];
    if (char === '"') {
      let end = at + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      if (depth === 1 && json[end + 1] === ':') keys.push(json.slice(at + 1, end));
      at = end;
    } else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') depth--;
  }
  return keys;
}

let relay: SpawnedRelay;
let home: string;

beforeAll(async () => {
  [relay, home] = await Promise.all([
    spawnRelay(),
    mkdtemp(join(tmpdir(), 'deaddrop-readme-curl-')),
  ]);
  for (const agentId of ['alice', 'bob']) {
    const client = new DeadDropClient({
      identity: await createIdentity(agentId, { relayUrl: relay.url, home }),
    });
    await client.register();
    client.close();
  }
});

afterAll(async () => {
  await relay.stop();
  await rm(home, { recursive: true, force: true });
});

describe.skipIf(!hasCurl())('the README curl examples', () => {
  it('are the three the README promises: info, lookup and stats', async () => {
    const commands = (await readmeExamples()).map(({ command }) => command);
    expect(commands).toHaveLength(3);
    expect(commands.map((command) => /\/v1\/([\w.]+)/.exec(command)?.[1])).toEqual([
      'info',
      'directory.lookup',
      'stats',
    ]);
  });

  it('answer, run as written, with the fields the README shows', async () => {
    const npx = `npx() { if [ "$1" = deaddrop ]; then shift; node --conditions=@deaddrop/source --import tsx client/src/cli/main.ts "$@"; else command npx "$@"; fi; }`;
    for (const { command, shown } of await readmeExamples()) {
      const script = `${npx}\n${command.replaceAll(README_RELAY, relay.url)}`;
      const { stdout } = await run('bash', ['-c', script], {
        cwd: repoRoot,
        env: { ...process.env, DEADDROP_HOME: home, DEADDROP_SERVER_URL: relay.url },
      });
      const answer = JSON.parse(stdout) as Record<string, unknown>;
      expect(Object.keys(answer), command).toEqual(topLevelKeys(shown));
      if (command.includes('agentId=bob')) expect(answer.agentId).toBe('bob');
      if (command.includes('/v1/stats')) expect(answer.agentId).toBe('alice');
    }
  });
});
