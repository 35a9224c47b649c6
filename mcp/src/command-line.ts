// deaddrop-mcp's arguments, read before anything else happens: a mistyped flag must stop the
// process before it creates an identity or calls a relay (`--htp` used to start stdio mode).
import { mcpVariables } from './env.js';

export type McpCommandLine =
  | { readonly kind: 'serve'; readonly http: boolean }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

/** A mistake in how the server was started (exit code 2). */
export class McpUsageError extends Error {
  override readonly name = 'McpUsageError';
}

const FLAGS = '--http, --help, --version';

export function readMcpCommandLine(argv: readonly string[]): McpCommandLine {
  let http = false;
  let help = false;
  let version = false;
  for (const arg of argv) {
    if (arg === '--http') http = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--version' || arg === '-v') version = true;
    else if (arg.startsWith('-')) {
      const name = arg.split('=', 1)[0] ?? arg;
      const takesNoValue = ['--http', '--help', '--version'].includes(name);
      throw new McpUsageError(
        takesNoValue
          ? `${name} takes no value; see deaddrop-mcp --help`
          : `unknown option ${arg} (it takes ${FLAGS}; the rest is set in the environment); see deaddrop-mcp --help`,
      );
    } else {
      throw new McpUsageError(
        `unexpected argument "${arg}" (it takes ${FLAGS}; the rest is set in the environment); see deaddrop-mcp --help`,
      );
    }
  }
  if (help) return { kind: 'help' };
  if (version) return { kind: 'version' };
  return { kind: 'serve', http };
}

export function mcpUsage(): string[] {
  const nameWidth = Math.max(...mcpVariables.map((variable) => variable.name.length));
  return [
    'usage: deaddrop-mcp [--http]',
    '',
    "The DeadDrop MCP server: one agent's end-to-end encrypted mailbox as MCP tools.",
    '',
    'modes:',
    '  (default)  stdio: an MCP client starts this process and speaks MCP on stdin/stdout;',
    '             logs are JSON lines on stderr',
    '  --http     Streamable HTTP at http://MCP_HTTP_HOST:MCP_HTTP_PORT/mcp',
    '',
    'options:',
    '  -h, --help     show this help',
    '  -v, --version  print the version',
    '',
    'environment [default]:',
    ...mcpVariables.map(
      (variable) =>
        `  ${variable.name.padEnd(nameWidth)}  ${variable.meaning} [${variable.defaultValue}]`,
    ),
    '',
    'Durations are a number with an optional unit: ms, s (the default), m, h, d.',
  ];
}
