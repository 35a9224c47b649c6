// deaddrop-mcp's command line, as a process from the sources: --help and --version without any
// configuration, a mistyped flag refused before anything is created or any relay is called, and
// its warnings naming its own settings (DEADDROP_SERVER_URL), not the CLI's flags, and an
// identity file other users can read.
import { chmod, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcpVariables } from '../src/env.js';
import { freePort } from '@deaddrop/test-support/spawn-relay';
import { removeHome, runMcpProcess, tempHome } from './mcp-harness.js';

describe('deaddrop-mcp command line', () => {
  let home: string;
  /** A stand-in relay that only counts who connects to it. */
  let relay: Server;
  let relayUrl: string;
  let connections = 0;

  beforeAll(async () => {
    home = await tempHome();
    relay = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const address = relay.address();
    relayUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => relay.close(resolve));
    await removeHome(home);
  });

  it('prints its usage on --help, with every variable it reads, and needs none of them', async () => {
    const run = await runMcpProcess(['--help'], {});
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^usage: deaddrop-mcp \[--http\]\n/);
    expect(run.stdout).toContain('--http     Streamable HTTP');
    for (const variable of mcpVariables) {
      expect(run.stdout).toContain(`${variable.name} `);
      expect(run.stdout).toContain(`[${variable.defaultValue}]`);
    }
  });

  it('prints its version on --version', async () => {
    const manifest = JSON.parse(
      await readFile(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(await runMcpProcess(['--version'], {})).toEqual({
      code: 0,
      stdout: `deaddrop-mcp ${manifest.version}\n`,
      stderr: '',
    });
  });

  it('refuses an unknown flag with exit code 2, creating nothing and calling no relay', async () => {
    const run = await runMcpProcess(['--htp'], {
      MCP_AGENT_ID: 'typo',
      DEADDROP_HOME: home,
      DEADDROP_SERVER_URL: relayUrl,
    });
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'deaddrop-mcp: unknown option --htp (it takes --http, --help, --version; the rest is set in the environment); see deaddrop-mcp --help\n',
    });
    expect(await readdir(home)).toEqual([]);
    expect(connections).toBe(0);
  });

  it('names DEADDROP_SERVER_URL, not a --server it does not have, when the relay is down', async () => {
    const downUrl = `http://127.0.0.1:${await freePort()}`;
    // Over stdio with stdin closed at once: it starts, warns, and stops.
    const run = await runMcpProcess([], {
      MCP_AGENT_ID: 'lonely',
      DEADDROP_HOME: home,
      DEADDROP_SERVER_URL: downUrl,
    });
    expect(run.stderr).toContain('relay not reachable at start');
    expect(run.stderr).toContain(
      `cannot reach the relay at ${downUrl} (ECONNREFUSED); check DEADDROP_SERVER_URL`,
    );
    expect(run.stderr).not.toContain('--server');
  });

  it.skipIf(process.platform === 'win32')(
    'warns in its log when other users can read its identity, saying how to fix it',
    async () => {
      const downUrl = `http://127.0.0.1:${await freePort()}`;
      const env = { MCP_AGENT_ID: 'exposed', DEADDROP_HOME: home, DEADDROP_SERVER_URL: downUrl };
      const file = join(home, 'agents', 'exposed.json');
      expect((await runMcpProcess([], env)).stderr).not.toContain('other users');
      await chmod(file, 0o644);
      const warnings = (await runMcpProcess([], env)).stderr
        .split('\n')
        .filter((line) => line.includes('"level":"warn"'))
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(warnings).toContain(
        `${file} is readable by other users (mode 0644) and it holds exposed's secret key; fix with: chmod 600 ${file}`,
      );
      await chmod(file, 0o600);
    },
  );
});
