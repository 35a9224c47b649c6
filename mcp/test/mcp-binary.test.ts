// The installed entry point itself: `mcp/bin/deaddrop-mcp.js` runs the BUILT package (dist), as an
// MCP client configured from the README would start it. The build is brought up to date first
// (turbo: a cache hit when nothing changed).
// @module-tag slow (builds the packages): npm test only, not npm run test:fast
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { mcpTools } from '@deaddrop/contract';
import { buildPackages } from '@deaddrop/test-support/build-packages';
import { repoRoot, spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import { callTool, removeHome, tempHome } from './mcp-harness.js';

const run = promisify(execFile);

describe('the deaddrop-mcp binary', () => {
  let relay: SpawnedRelay;
  let home: string;
  let client: Client;
  let stderr = '';

  beforeAll(async () => {
    await buildPackages('@deaddrop/mcp...');
    [relay, home] = await Promise.all([spawnRelay(), tempHome()]);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['mcp/bin/deaddrop-mcp.js'],
      cwd: repoRoot,
      env: { MCP_AGENT_ID: 'packaged', DEADDROP_HOME: home, DEADDROP_SERVER_URL: relay.url },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    client = new Client({ name: 'deaddrop-test', version: '1.0.0' });
    await client.connect(transport);
  }, 200_000);

  afterAll(async () => {
    await client.close();
    await relay.stop();
    await removeHome(home);
  });

  it('starts over stdio, creates and registers its identity, and serves the contract’s tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(Object.keys(mcpTools).sort());
    const key = await callTool(client, 'get_public_key');
    expect(key.structuredContent).toMatchObject({ agent_id: 'packaged', relay_url: relay.url });
    // Logs went to stderr (stdout carries only the protocol, or the client could not talk to it).
    expect(stderr).toContain('"identity created"');
  });

  // The client's bin is checked here too: this build made it (the mcp package depends on the
  // client). The packed and installed bins: mcp/test/installed-packages.test.ts.
  it.each([
    ['mcp/bin/deaddrop-mcp.js', 'mcp/package.json', 'deaddrop-mcp'],
    ['client/bin/deaddrop.js', 'client/package.json', 'deaddrop'],
  ])('%s --version prints the version of its package', async (bin, manifestPath, name) => {
    const manifest = JSON.parse(await readFile(join(repoRoot, manifestPath), 'utf8')) as {
      version: string;
    };
    const { stdout } = await run(process.execPath, [bin, '--version'], { cwd: repoRoot });
    expect(stdout).toBe(`${name} ${manifest.version}\n`);
  });

  it('prints its usage on --help, from the build', async () => {
    const { stdout } = await run(process.execPath, ['mcp/bin/deaddrop-mcp.js', '--help'], {
      cwd: repoRoot,
    });
    expect(stdout).toMatch(/^usage: deaddrop-mcp \[--http\]\n/);
  });
});
