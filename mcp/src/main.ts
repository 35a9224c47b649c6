// deaddrop-mcp: the agent's MCP server. stdio by default (an MCP client spawns it); `--http` serves
// Streamable HTTP on MCP_HTTP_HOST:MCP_HTTP_PORT (127.0.0.1:8001).
import { readFileSync } from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AgentContext } from './agent-context.js';
import { openAgentClient } from './agent.js';
import { createMcpServer } from './create-server.js';
import { loadMcpConfig, McpConfigError } from './env.js';
import { startMcpHttp } from './http-server.js';
import { InboxFeed } from './inbox-feed.js';
import { stderrLogger as log } from './log.js';

function packageVersion(): string {
  const parsed: unknown = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  );
  return typeof parsed === 'object' &&
    parsed !== null &&
    'version' in parsed &&
    typeof parsed.version === 'string'
    ? parsed.version
    : '0.0.0';
}

async function main(): Promise<void> {
  const http = process.argv.includes('--http');
  const config = loadMcpConfig();
  const { client, created } = await openAgentClient(config);
  const agent = new AgentContext(client);
  log.info(created ? 'identity created' : 'identity loaded', {
    agentId: client.agentId,
    fingerprint: client.fingerprint,
    relay: client.relayUrl,
  });
  // Registered now if the relay answers; otherwise before the first tool call.
  await agent.ready().catch((error: unknown) => {
    log.warn('relay not reachable at start; will retry on first use', {
      error: error instanceof Error ? error.message : String(error),
    });
  });
  const feed = new InboxFeed(agent, log);
  const newServer = () => createMcpServer({ agent, feed, log, version: packageVersion() });

  let stop: () => Promise<void>;
  if (http) {
    const running = await startMcpHttp(config.http, newServer, log);
    stop = () => running.close();
  } else {
    const server = newServer();
    await server.connect(new StdioServerTransport());
    stop = () => server.close();
    process.stdin.on('close', () => void shutdown('stdin closed'));
  }
  let stopping = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('mcp stopping', { why });
    feed.close();
    await stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  log.error(error instanceof McpConfigError ? `configuration: ${message}` : message);
  process.exit(1);
});
