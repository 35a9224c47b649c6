// Streamable HTTP at /mcp with stateful sessions (one McpServer per session), guarded by
// `authorization: Bearer $MCP_API_KEY` and by the SDK's Host-header check against DNS rebinding.
import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { hostHeaderValidation } from '@modelcontextprotocol/sdk/server/middleware/hostHeaderValidation.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { NextFunction, Request, Response } from 'express';
import type { McpConfig } from './env.js';
import type { Logger } from './log.js';

export const MCP_PATH = '/mcp';

interface Session {
  readonly transport: StreamableHTTPServerTransport;
  readonly server: McpServer;
}

export interface RunningMcpHttp {
  readonly url: string;
  readonly sessions: () => number;
  close(): Promise<void>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function jsonRpcError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/** Bearer check in constant time (digests, so lengths leak nothing either). */
function bearerAuth(apiKey: string | undefined) {
  const expected = apiKey === undefined ? undefined : digest(apiKey);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (expected === undefined) {
      next();
      return;
    }
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    if (token !== '' && timingSafeEqual(digest(token), expected)) {
      next();
      return;
    }
    res.setHeader('www-authenticate', 'Bearer realm="deaddrop-mcp"');
    jsonRpcError(
      res,
      401,
      -32001,
      token === ''
        ? 'missing bearer token (authorization: Bearer <MCP_API_KEY>)'
        : 'invalid bearer token',
    );
  };
}

export async function startMcpHttp(
  config: McpConfig['http'],
  newServer: () => McpServer,
  log: Logger,
): Promise<RunningMcpHttp> {
  const sessions = new Map<string, Session>();
  // createMcpExpressApp parses JSON and, for a loopback host, checks the Host header; other hosts
  // get the same check against the configured names.
  const app = createMcpExpressApp({ host: config.host });
  app.disable('x-powered-by');
  if (config.allowedHosts.length > 0) app.use(hostHeaderValidation([...config.allowedHosts]));
  const auth = bearerAuth(config.apiKey);

  app.post(MCP_PATH, auth, async (req: Request, res: Response) => {
    const id = req.header('mcp-session-id');
    const session = id === undefined ? undefined : sessions.get(id);
    if (session !== undefined) {
      await session.transport.handleRequest(req, res, req.body);
      return;
    }
    if (id !== undefined) {
      jsonRpcError(res, 404, -32001, 'session not found; start a new one');
      return;
    }
    if (!isInitializeRequest(req.body)) {
      jsonRpcError(res, 400, -32000, 'no session: the first request must be initialize');
      return;
    }
    const server = newServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sessionId) => {
        sessions.set(sessionId, { transport, server });
      },
      onsessionclosed: (sessionId) => {
        sessions.delete(sessionId);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  const bySession = async (req: Request, res: Response): Promise<void> => {
    const session = sessions.get(req.header('mcp-session-id') ?? '');
    if (session === undefined) {
      jsonRpcError(res, 404, -32001, 'session not found; start a new one');
      return;
    }
    await session.transport.handleRequest(req, res);
  };
  app.get(MCP_PATH, auth, bySession);
  app.delete(MCP_PATH, auth, bySession);

  const httpServer: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(config.port, config.host, (error?: Error) => {
      if (error) reject(error);
      else resolve(listening);
    });
  });
  const address = httpServer.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}${MCP_PATH}`;
  log.info('mcp listening', { url, auth: config.apiKey === undefined ? 'none' : 'bearer' });

  return {
    url,
    sessions: () => sessions.size,
    close: async () => {
      await Promise.all([...sessions.values()].map(({ server }) => server.close()));
      sessions.clear();
      await new Promise<void>((resolve) => {
        httpServer.close(() => {
          resolve();
        });
      });
      httpServer.closeAllConnections();
    },
  };
}
