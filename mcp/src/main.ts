// deaddrop-mcp: the agent's MCP server. stdio by default (an MCP client spawns it); `--http` serves
// Streamable HTTP on MCP_HTTP_HOST:MCP_HTTP_PORT (127.0.0.1:8001). The arguments are checked first:
// nothing is created and no relay is called for a command line that is refused.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AgentContext } from './agent-context.js';
import { openAgentClient } from './agent.js';
import { ReceiptQueue } from './receipt-queue.js';
import { mcpMessageOf } from './cli-hints.js';
import { McpUsageError, mcpUsage, readMcpCommandLine } from './command-line.js';
import { createMcpServer } from './create-server.js';
import { loadMcpConfig, McpConfigError } from './env.js';
import { startMcpHttp } from './http-server.js';
import { InboxFeed } from './inbox-feed.js';
import { stderrLogger as log } from './log.js';
import { mcpPackageVersion } from './package-version.js';

const EXIT_USAGE = 2;

async function main(): Promise<void> {
  const commandLine = readMcpCommandLine(process.argv.slice(2));
  switch (commandLine.kind) {
    case 'help':
      process.stdout.write(`${mcpUsage().join('\n')}\n`);
      return;
    case 'version':
      process.stdout.write(`deaddrop-mcp ${mcpPackageVersion()}\n`);
      return;
    case 'serve':
      break;
  }
  const config = loadMcpConfig();
  const receipts = new ReceiptQueue();
  const { client, created } = await openAgentClient(
    config,
    (line) => {
      log.warn(line);
    },
    (event) => {
      receipts.add(event);
    },
  );
  const agent = new AgentContext(client, config.saveDir, receipts);
  log.info(created ? 'identity created' : 'identity loaded', {
    agentId: client.agentId,
    fingerprint: client.fingerprint,
    relay: client.relayUrl,
  });
  // Registered now if the relay answers; otherwise before the first tool call.
  await agent.ready().catch((error: unknown) => {
    log.warn('relay not reachable at start; will retry on first use', {
      error: mcpMessageOf(error),
    });
  });
  const feed = new InboxFeed(agent, log);
  const version = mcpPackageVersion();
  const newServer = () => createMcpServer({ agent, feed, log, version });

  let stop: () => Promise<void>;
  if (commandLine.http) {
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
  // Nothing has started yet: a plain line for the person who typed the command, and the usual code.
  if (error instanceof McpUsageError) {
    process.stderr.write(`deaddrop-mcp: ${error.message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const message = mcpMessageOf(error);
  log.error(error instanceof McpConfigError ? `configuration: ${message}` : message);
  process.exit(1);
});
