// The four packages as a user outside this repository gets them: `npm pack` of each (its prepack
// builds it), `npm install` of the tarballs into an empty folder under the system's temporary
// folder (their third-party dependencies come from the registry, the workspace's `^0.1.0` from the
// tarballs beside them), then the installed bins: a relay, two agents exchanging a message with
// the CLI, and the MCP server listing its tools to the official MCP client.
// @module-tag slow (packs, installs from the registry, compiles better-sqlite3): npm test only, not npm run test:fast
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { mcpTools } from '@deaddrop/contract';
import { buildPackages } from '@deaddrop/test-support/build-packages';
import { RATE_LIMITS_OFF, freePort, repoRoot } from '@deaddrop/test-support/spawn-relay';

const run = promisify(execFile);

const PACKAGES = ['contract', 'client', 'server', 'mcp'];
const INSTALL_TIMEOUT_MS = 480_000;
const RELAY_START_TIMEOUT_MS = 20_000;

/** The environment of this process without what npm, the developer's shell or a test set. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(
    ([name]) =>
      !/^(npm_|DEADDROP_|MCP_|REDIS_|RATE_)/i.test(name) &&
      !['INIT_CWD', 'PORT', 'HOST', 'LOG_LEVEL', 'NODE_OPTIONS'].includes(name),
  );
  return { ...Object.fromEntries(kept), ...extra };
}

let scratch: string;
let app: string;
let home: string;
let relay: ChildProcessWithoutNullStreams | undefined;
let relayOutput = '';
let relayUrl: string;

/** A bin of the installed packages, run to completion in the install folder. */
async function installedBin(
  name: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join(app, 'node_modules', '.bin', name), [...args], {
      cwd: app,
      env: cleanEnv(env),
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function cli(args: readonly string[]): ReturnType<typeof installedBin> {
  return installedBin('deaddrop', args, { DEADDROP_HOME: home });
}

async function waitForRelay(): Promise<void> {
  const deadline = Date.now() + RELAY_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (relay?.exitCode !== null) throw new Error(`the relay exited:\n${relayOutput}`);
    try {
      const response = await fetch(`${relayUrl}/trpc/info`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the relay did not answer within ${RELAY_START_TIMEOUT_MS} ms:\n${relayOutput}`);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'deaddrop-install-'));
  // Outside the workspace, or npm would see the repository's package.json and its workspaces.
  expect(relative(repoRoot, scratch).startsWith('..')).toBe(true);
  const tarballs = join(scratch, 'tarballs');
  app = join(scratch, 'app');
  home = join(scratch, 'home');
  await Promise.all([mkdir(tarballs), mkdir(app), mkdir(home, { mode: 0o700 })]);

  await buildPackages();
  await run(
    'npm',
    ['pack', ...PACKAGES.flatMap((name) => ['--workspace', name]), '--pack-destination', tarballs],
    { cwd: repoRoot, env: cleanEnv(), timeout: INSTALL_TIMEOUT_MS },
  );
  const packed = (await readdir(tarballs)).sort();
  expect(packed).toEqual(PACKAGES.map((name) => `deaddrop-${name}-0.1.0.tgz`).sort());
  const sizes = await Promise.all(
    packed.map(async (file) => `${file} ${(await stat(join(tarballs, file))).size} B`),
  );
  process.stdout.write(`packed: ${sizes.join(', ')}\n`);

  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'deaddrop-install-check',
      private: true,
      type: 'module',
      // npm 11 asks a project to allow a dependency's install script: the SQLite binding's.
      allowScripts: { 'better-sqlite3': true },
    }),
  );
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...packed.map((file) => join(tarballs, file)),
    ],
    { cwd: app, env: cleanEnv(), timeout: INSTALL_TIMEOUT_MS },
  );

  const port = await freePort();
  relayUrl = `http://127.0.0.1:${port}`;
  relay = spawn(join(app, 'node_modules', '.bin', 'deaddrop-relay'), [], {
    cwd: app,
    env: cleanEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      DEADDROP_DATA_DIR: join(scratch, 'relay-data'),
      ...RATE_LIMITS_OFF,
    }),
  });
  relay.stdout.on('data', (chunk: Buffer) => (relayOutput += chunk.toString()));
  relay.stderr.on('data', (chunk: Buffer) => (relayOutput += chunk.toString()));
  await waitForRelay();
}, INSTALL_TIMEOUT_MS * 2);

afterAll(async () => {
  if (relay !== undefined && relay.exitCode === null) {
    const exited = new Promise((resolve) => relay?.once('exit', resolve));
    relay.kill('SIGTERM');
    await exited;
  }
  await rm(scratch, { recursive: true, force: true });
});

describe('the packed packages, installed outside the workspace', () => {
  it.each([
    ['deaddrop', 'deaddrop 0.1.0\n'],
    ['deaddrop-relay', 'deaddrop-relay 0.1.0\n'],
    ['deaddrop-mcp', 'deaddrop-mcp 0.1.0\n'],
  ])('%s --version prints its package version', async (bin, version) => {
    expect(await installedBin(bin, ['--version'])).toEqual({
      code: 0,
      stdout: version,
      stderr: '',
    });
  });

  it.each([
    ['deaddrop', 'usage: deaddrop <command> [options]'],
    ['deaddrop-relay', 'usage: deaddrop-relay\n'],
    ['deaddrop-mcp', 'usage: deaddrop-mcp [--http]\n'],
  ])('%s --help prints its usage', async (bin, usage) => {
    const help = await installedBin(bin, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.startsWith(usage)).toBe(true);
  });

  it('deaddrop-relay refuses an argument with exit code 2', async () => {
    const refused = await installedBin('deaddrop-relay', ['--port', '9000']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('unknown option --port');
  });

  it('serves the libraries to an ES module of the install folder', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const [c, s, k, m] = await Promise.all(['@deaddrop/client', '@deaddrop/server', '@deaddrop/contract', '@deaddrop/mcp'].map((name) => import(name))); console.log(typeof c.DeadDropClient, typeof s.startRelay, typeof k.createProof, typeof m.createMcpServer)",
      ],
      { cwd: app, env: cleanEnv() },
    );
    expect(stdout).toBe('function function function function\n');
    // One copy of each: the packages' `^0.1.0` on each other resolved to the tarballs installed.
    const nested = await Promise.all(
      PACKAGES.map((name) =>
        readdir(join(app, 'node_modules', '@deaddrop', name, 'node_modules', '@deaddrop')).then(
          (found) => found.map((inner) => `${name} → ${inner}`),
          () => [],
        ),
      ),
    );
    expect(nested.flat()).toEqual([]);
  });

  it('relays a message between two agents made with the installed CLI', async () => {
    for (const agent of ['alice', 'bob']) {
      const init = await cli(['init', agent, '--server', relayUrl]);
      expect(init.code, init.stderr).toBe(0);
      expect(init.stdout).toContain(`registered ${agent} on ${relayUrl}`);
    }
    const sent = await cli(['send', 'alice', 'bob', 'hello from the tarballs']);
    expect(sent.code, sent.stderr).toBe(0);
    const received = await cli(['receive', 'bob', '--json']);
    expect(received.code, received.stderr).toBe(0);
    expect(JSON.parse(received.stdout)).toMatchObject({
      from: 'alice',
      verified: true,
      body: 'hello from the tarballs',
    });
  });

  it('serves the plain HTTP API and its OpenAPI document from the installed relay', async () => {
    const info = await fetch(`${relayUrl}/v1/info`);
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ version: '0.1.0' });
    const openapi = await fetch(`${relayUrl}/openapi.json`);
    expect(openapi.status).toBe(200);
    const document = (await openapi.json()) as { openapi: string };
    expect(document.openapi).toMatch(/^3\.1\./);
  });

  it("lists deaddrop-mcp's tools to the official MCP client over stdio", async () => {
    const transport = new StdioClientTransport({
      command: join(app, 'node_modules', '.bin', 'deaddrop-mcp'),
      cwd: app,
      env: { MCP_AGENT_ID: 'carol', DEADDROP_HOME: home, DEADDROP_SERVER_URL: relayUrl },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'deaddrop-install-check', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(Object.keys(mcpTools).sort());
      const key = await client.callTool({ name: 'get_public_key', arguments: {} });
      expect(key.structuredContent).toMatchObject({ agent_id: 'carol', relay_url: relayUrl });
    } finally {
      await client.close();
    }
  });
});
