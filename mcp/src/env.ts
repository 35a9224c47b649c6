// The MCP server's configuration (PROTOCOL §5 client and MCP variables), validated at start: an
// invalid value stops the process with a message naming the variable.
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { clientVariables, readClientEnv, type EnvVariable } from '@deaddrop/client';
import { AGENT_ID_PATTERN } from '@deaddrop/contract';

export const DEFAULT_MCP_PORT = 8001;
const DEFAULT_MCP_HOST = '127.0.0.1';

export class McpConfigError extends Error {
  override readonly name = 'McpConfigError';
}

export interface McpConfig {
  readonly agentId: string;
  /** `DEADDROP_HOME`, else `~/.deaddrop`. */
  readonly home: string | undefined;
  /** `DEADDROP_SERVER_URL`, else the identity's relay, else the SDK default. */
  readonly serverUrl: string | undefined;
  /** `DEADDROP_API_KEY`: the relay access key, if the relay requires one. */
  readonly relayApiKey: string | undefined;
  /** `DEADDROP_MAX_MESSAGE_AGE` and `DEADDROP_REQUEST_TIMEOUT`, as the SDK reads them (ms). */
  readonly maxMessageAgeMs: number | undefined;
  readonly requestTimeoutMs: number | undefined;
  /** `DEADDROP_RECEIPTS`: false to send no delivery receipts (receiving them is not affected). */
  readonly receipts: boolean | undefined;
  /** `MCP_SAVE_DIR`, else `files/<agent>` under the DeadDrop home: where received files go. */
  readonly saveDir: string;
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** `MCP_API_KEY`: the bearer token HTTP clients must present. */
    readonly apiKey: string | undefined;
    /** Host names accepted in the Host header (DNS-rebinding protection). */
    readonly allowedHosts: readonly string[];
  };
}

/** The server's own variables; it reads the SDK's (clientVariables) as well. */
export const mcpOwnVariables: readonly EnvVariable[] = [
  {
    name: 'MCP_AGENT_ID',
    defaultValue: 'required',
    meaning: 'the agent id this server acts as',
    notes: 'its identity is created (0600, in `DEADDROP_HOME`) and registered on first start',
  },
  { name: 'MCP_HTTP_HOST', defaultValue: DEFAULT_MCP_HOST, meaning: 'where --http listens' },
  {
    name: 'MCP_HTTP_PORT',
    defaultValue: String(DEFAULT_MCP_PORT),
    meaning: 'the port --http listens on',
    notes: '0–65535',
  },
  {
    name: 'MCP_API_KEY',
    defaultValue: 'unset; required off loopback',
    meaning: 'bearer token --http clients must present (16+ characters)',
    notes: 'printable ASCII; none is allowed only while `MCP_HTTP_HOST` is a loopback address',
  },
  {
    name: 'MCP_ALLOWED_HOSTS',
    defaultValue: 'loopback names, or MCP_HTTP_HOST',
    meaning: 'Host header names --http accepts, comma-separated (DNS-rebinding protection)',
    notes: 'required when `MCP_HTTP_HOST` is `0.0.0.0` or `::`',
  },
  {
    name: 'MCP_SAVE_DIR',
    defaultValue: '`files/<agent>` under `DEADDROP_HOME`',
    meaning: 'where files received as messages are saved (folder 0700, files 0600)',
    notes:
      'a name already taken gets ` (1)`, ` (2)`, … before its extension: nothing is overwritten; `DEADDROP_RECEIPTS=off` turns this server’s delivery receipts off',
  },
];

/** Every variable `loadMcpConfig` reads (a test holds it to that), in the order --help lists them. */
export const mcpVariables: readonly EnvVariable[] = [...mcpOwnVariables, ...clientVariables];

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

const portSchema = z.coerce.number().int().min(0).max(65_535);

export function loadMcpConfig(env: NodeJS.ProcessEnv = process.env): McpConfig {
  const agentId = nonEmpty(env.MCP_AGENT_ID);
  if (agentId === undefined)
    throw new McpConfigError('MCP_AGENT_ID is required: the agent id this MCP server acts as');
  if (!AGENT_ID_PATTERN.test(agentId))
    throw new McpConfigError(`MCP_AGENT_ID must match ${String(AGENT_ID_PATTERN)}`);

  let client;
  try {
    client = readClientEnv(env);
  } catch (error) {
    throw new McpConfigError(error instanceof Error ? error.message : String(error));
  }

  const port = portSchema.safeParse(nonEmpty(env.MCP_HTTP_PORT) ?? DEFAULT_MCP_PORT);
  if (!port.success) throw new McpConfigError('MCP_HTTP_PORT must be a port number (0–65535)');
  const host = nonEmpty(env.MCP_HTTP_HOST) ?? DEFAULT_MCP_HOST;
  const apiKey = nonEmpty(env.MCP_API_KEY);
  if (apiKey !== undefined && !/^[\x21-\x7e]{16,}$/.test(apiKey))
    throw new McpConfigError('MCP_API_KEY must be at least 16 printable ASCII characters');
  if (apiKey === undefined && !isLoopback(host))
    throw new McpConfigError(
      `MCP_API_KEY is required when MCP_HTTP_HOST (${host}) is not a loopback address`,
    );
  const listed = nonEmpty(env.MCP_ALLOWED_HOSTS)
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const wildcard = host === '0.0.0.0' || host === '::';
  if (wildcard && listed === undefined)
    throw new McpConfigError(
      `MCP_ALLOWED_HOSTS is required when MCP_HTTP_HOST is ${host}: the host names clients use to reach this server (DNS-rebinding protection)`,
    );
  const allowedHosts = listed ?? (isLoopback(host) ? ['localhost', '127.0.0.1', '::1'] : [host]);

  return {
    agentId,
    home: client.home,
    serverUrl: client.serverUrl,
    relayApiKey: client.apiKey,
    maxMessageAgeMs: client.maxMessageAgeMs,
    requestTimeoutMs: client.requestTimeoutMs,
    receipts: client.receipts,
    saveDir: resolve(
      nonEmpty(env.MCP_SAVE_DIR) ??
        join(client.home ?? join(homedir(), '.deaddrop'), 'files', agentId),
    ),
    http: { host, port: port.data, apiKey, allowedHosts },
  };
}
