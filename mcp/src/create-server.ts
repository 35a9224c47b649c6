// One MCP server (per stdio connection or per HTTP session) for the agent: every tool of the
// contract's table, registered by looping over it, and the inbox resource with subscriptions.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { MCP_INBOX_RESOURCE, mcpTools, type McpToolName } from '@deaddrop/contract';
import type { AgentContext } from './agent-context.js';
import type { InboxFeed } from './inbox-feed.js';
import type { Logger } from './log.js';
import { toReceivedMessage } from './received.js';
import { describeFailure } from './tool-failure.js';
import { runTool, type ToolInput } from './tool-handlers.js';

export const MCP_SERVER_NAME = 'deaddrop';
const RESOURCE_PEEK_LIMIT = 100;

export interface McpServerDeps {
  readonly agent: AgentContext;
  readonly feed: InboxFeed;
  readonly log: Logger;
  readonly version: string;
}

export function createMcpServer(deps: McpServerDeps): McpServer {
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: deps.version },
    {
      capabilities: { resources: { subscribe: true, listChanged: true } },
      instructions: `You are the DeadDrop agent "${deps.agent.agentId}": an end-to-end encrypted mailbox. Use send_message to write to another agent by id, receive_messages or wait_for_message to read (each message says who sent it and whether it is verified), delete_message when done with one.`,
    },
  );
  for (const name of Object.keys(mcpTools) as McpToolName[]) registerTool(server, name, deps);
  registerInbox(server, deps);
  return server;
}

function registerTool(server: McpServer, name: McpToolName, deps: McpServerDeps): void {
  const tool = mcpTools[name];
  server.registerTool(
    name,
    {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.input,
      outputSchema: tool.output,
      annotations: { title: tool.title, ...tool.annotations },
    },
    async (args: unknown): Promise<CallToolResult> => {
      try {
        await deps.agent.ready();
        // The SDK has validated `args` with this tool's input schema.
        const answer = await runTool(name, args as ToolInput<McpToolName>, deps.agent);
        // Parsed, so the client's stricter check of the raw value (no extra keys) passes too.
        const structuredContent: Record<string, unknown> = tool.output.parse(answer.result);
        return { content: [{ type: 'text', text: answer.summary }], structuredContent };
      } catch (error) {
        const text = describeFailure(error);
        if (text !== null) return { isError: true, content: [{ type: 'text', text }] };
        deps.log.error('tool failed', {
          tool: name,
          error: error instanceof Error ? error.message : String(error),
        });
        return {
          isError: true,
          content: [
            { type: 'text', text: `internal error in the DeadDrop MCP server (see its log)` },
          ],
        };
      }
    },
  );
}

function registerInbox(server: McpServer, deps: McpServerDeps): void {
  const { agent, feed } = deps;
  server.registerResource(
    'inbox',
    MCP_INBOX_RESOURCE,
    {
      title: 'DeadDrop inbox',
      description:
        'Messages that arrived for this agent and have not been handed over by a tool yet (JSON). Subscribe to be told when one arrives.',
      mimeType: 'application/json',
    },
    async (uri) => {
      await agent.ready();
      await agent.queue.fetch(RESOURCE_PEEK_LIMIT, 0);
      const waiting = agent.queue.peek().map(toReceivedMessage);
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ agent_id: agent.agentId, messages: waiting }),
          },
        ],
      };
    },
  );

  let stopListening: (() => void) | undefined;
  const unsubscribe = (): void => {
    stopListening?.();
    stopListening = undefined;
  };
  const checkUri = (uri: string): void => {
    if (uri !== MCP_INBOX_RESOURCE)
      throw new McpError(
        ErrorCode.InvalidParams,
        `no resource ${uri}; subscribe to ${MCP_INBOX_RESOURCE}`,
      );
  };
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    checkUri(request.params.uri);
    stopListening ??= feed.listen(() => {
      server.server.sendResourceUpdated({ uri: MCP_INBOX_RESOURCE }).catch(() => undefined);
    });
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    checkUri(request.params.uri);
    unsubscribe();
    return {};
  });
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    unsubscribe();
    previousOnClose?.();
  };
}
