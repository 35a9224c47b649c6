// Real MCP servers for tests: `mcp/src/main.ts` (what bin/deaddrop-mcp.js runs, from sources under
// tsx) spawned over stdio or with --http, each as its own agent, and the official MCP Client.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { freePort, repoRoot } from '@deaddrop/test-support/spawn-relay';
import { startSourceProcess } from '@deaddrop/test-support/source-process';

const SOURCE_ENTRY = ['--conditions=@deaddrop/source', '--import', 'tsx', 'mcp/src/main.ts'];
const STARTUP_TIMEOUT_MS = 20_000;

export interface AgentEnv {
  readonly agentId: string;
  readonly relayUrl: string;
  readonly home: string;
  readonly extra?: Record<string, string>;
}

export async function tempHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'deaddrop-mcp-home-'));
}

export async function removeHome(home: string): Promise<void> {
  await rm(home, { recursive: true, force: true });
}

/** Only what the test sets: no DEADDROP_* or MCP_* from the developer's shell. */
function agentVariables(agent: AgentEnv): Record<string, string> {
  return {
    MCP_AGENT_ID: agent.agentId,
    DEADDROP_HOME: agent.home,
    DEADDROP_SERVER_URL: agent.relayUrl,
    ...agent.extra,
  };
}

export interface StdioAgent {
  readonly client: Client;
  readonly stderr: () => string;
  close(): Promise<void>;
}

export async function connectStdio(agent: AgentEnv): Promise<StdioAgent> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: SOURCE_ENTRY,
    cwd: repoRoot,
    // The SDK passes only a few safe variables (HOME, PATH, …) besides these.
    env: agentVariables(agent),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'deaddrop-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr, close: () => client.close() };
}

export interface HttpAgentServer {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** The environment of this process without the developer's DEADDROP_* and MCP_* variables. */
function baseEnv(): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('DEADDROP_') && !name.startsWith('MCP_'),
    ),
  );
}

export interface McpRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `deaddrop-mcp ...args` from the sources, run to its exit with only `env` of ours (its stdin is
 * closed at once, which ends a stdio server that got as far as serving).
 */
export async function runMcpProcess(
  args: readonly string[],
  env: Record<string, string>,
): Promise<McpRun> {
  const server = startSourceProcess('mcp/src/main.ts', args, { ...baseEnv(), ...env });
  const { child } = server;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => void server.stop(), STARTUP_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export async function spawnHttp(agent: AgentEnv, apiKey: string): Promise<HttpAgentServer> {
  const port = await freePort();
  const server = startSourceProcess('mcp/src/main.ts', ['--http'], {
    ...baseEnv(),
    ...agentVariables(agent),
    MCP_HTTP_HOST: '127.0.0.1',
    MCP_HTTP_PORT: String(port),
    MCP_API_KEY: apiKey,
  });
  const { child, output } = server;
  const stop = (): Promise<void> => server.stop();
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!output().includes('"mcp listening"')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`MCP HTTP server did not start:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `http://127.0.0.1:${port}/mcp`, child, output, stop };
}

export async function connectHttp(url: string, token: string | undefined): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'deaddrop-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** `callTool` typed as the result it is (the SDK's declared type is a legacy union). */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return CallToolResultSchema.parse(await client.callTool({ name, arguments: args }));
}

export function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}
