import { describe, expect, it } from 'vitest';
import { McpUsageError, mcpUsage, readMcpCommandLine } from './command-line.js';
import { loadMcpConfig, mcpVariables } from './env.js';

describe('deaddrop-mcp arguments', () => {
  it('serves stdio by default and HTTP with --http; --help and --version win', () => {
    expect(readMcpCommandLine([])).toEqual({ kind: 'serve', http: false });
    expect(readMcpCommandLine(['--http'])).toEqual({ kind: 'serve', http: true });
    expect(readMcpCommandLine(['--http', '-h'])).toEqual({ kind: 'help' });
    expect(readMcpCommandLine(['--version'])).toEqual({ kind: 'version' });
    expect(readMcpCommandLine(['-v'])).toEqual({ kind: 'version' });
  });

  it.each([
    [['--htp'], 'unknown option --htp (it takes --http, --help, --version;'],
    [['--server', 'http://relay'], 'unknown option --server'],
    [['http'], 'unexpected argument "http"'],
    [['--http=yes'], '--http takes no value'],
  ])('refuses %j', (argv, text) => {
    expect(() => readMcpCommandLine(argv)).toThrow(McpUsageError);
    expect(() => readMcpCommandLine(argv)).toThrow(text);
  });

  it('lists in --help exactly the variables the configuration reads', () => {
    const read = new Set<string>();
    // Every variable set, so that no check stops the reading early.
    const env = new Proxy<NodeJS.ProcessEnv>(
      {},
      {
        get: (_target, name) => {
          if (typeof name === 'string') read.add(name);
          return name === 'MCP_AGENT_ID' ? 'agent-1' : undefined;
        },
      },
    );
    loadMcpConfig(env);
    expect([...read].sort()).toEqual(mcpVariables.map((variable) => variable.name).sort());
    const usage = mcpUsage().join('\n');
    for (const variable of mcpVariables) expect(usage).toContain(variable.name);
    expect(usage).toContain('--http');
  });
});
