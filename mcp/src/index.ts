// @deaddrop/mcp: the DeadDrop MCP server, for embedding (the binary is deaddrop-mcp).
export { AgentContext } from './agent-context.js';
export { openAgentClient } from './agent.js';
export { createMcpServer, MCP_SERVER_NAME } from './create-server.js';
export type { McpServerDeps } from './create-server.js';
export { loadMcpConfig, McpConfigError, DEFAULT_MCP_PORT } from './env.js';
export type { McpConfig } from './env.js';
export { startMcpHttp, MCP_PATH } from './http-server.js';
export type { RunningMcpHttp } from './http-server.js';
export { InboxFeed } from './inbox-feed.js';
export { stderrLogger } from './log.js';
export type { Logger } from './log.js';
