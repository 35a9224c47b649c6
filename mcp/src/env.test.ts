import { describe, expect, it } from 'vitest';
import { DEFAULT_MCP_PORT, loadMcpConfig, McpConfigError } from './env.js';

describe('MCP configuration', () => {
  it('needs MCP_AGENT_ID, and a valid one', () => {
    expect(() => loadMcpConfig({})).toThrow(/MCP_AGENT_ID is required/);
    expect(() => loadMcpConfig({ MCP_AGENT_ID: 'Bad Id' })).toThrow(McpConfigError);
  });

  it('saves received files under the DeadDrop home unless MCP_SAVE_DIR says where', () => {
    expect(loadMcpConfig({ MCP_AGENT_ID: 'a1', DEADDROP_HOME: '/srv/dd' }).saveDir).toBe(
      '/srv/dd/files/a1',
    );
    expect(loadMcpConfig({ MCP_AGENT_ID: 'a1', MCP_SAVE_DIR: '/tmp/in' }).saveDir).toBe('/tmp/in');
  });

  it('turns sending receipts off with DEADDROP_RECEIPTS=off, and leaves the SDK default otherwise', () => {
    expect(loadMcpConfig({ MCP_AGENT_ID: 'a1', DEADDROP_RECEIPTS: 'off' }).receipts).toBe(false);
    expect(loadMcpConfig({ MCP_AGENT_ID: 'a1' }).receipts).toBeUndefined();
  });

  it('defaults to loopback port 8001 without a token, loopback host names only', () => {
    const config = loadMcpConfig({ MCP_AGENT_ID: 'a1' });
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: DEFAULT_MCP_PORT,
      apiKey: undefined,
      allowedHosts: ['localhost', '127.0.0.1', '::1'],
    });
  });

  it('requires MCP_API_KEY beyond loopback, and host names for a wildcard address', () => {
    expect(() => loadMcpConfig({ MCP_AGENT_ID: 'a1', MCP_HTTP_HOST: '10.0.0.5' })).toThrow(
      /MCP_API_KEY is required/,
    );
    expect(() =>
      loadMcpConfig({ MCP_AGENT_ID: 'a1', MCP_HTTP_HOST: '0.0.0.0', MCP_API_KEY: 'k'.repeat(20) }),
    ).toThrow(/MCP_ALLOWED_HOSTS is required/);
    const config = loadMcpConfig({
      MCP_AGENT_ID: 'a1',
      MCP_HTTP_HOST: '0.0.0.0',
      MCP_API_KEY: 'k'.repeat(20),
      MCP_ALLOWED_HOSTS: 'mcp.example.com, mcp',
    });
    expect(config.http.allowedHosts).toEqual(['mcp.example.com', 'mcp']);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadMcpConfig({ MCP_AGENT_ID: 'a1', MCP_HTTP_PORT: 'eighty' })).toThrow(
      /MCP_HTTP_PORT/,
    );
    expect(() => loadMcpConfig({ MCP_AGENT_ID: 'a1', MCP_API_KEY: 'short' })).toThrow(
      /MCP_API_KEY/,
    );
    expect(() => loadMcpConfig({ MCP_AGENT_ID: 'a1', DEADDROP_SERVER_URL: 'not a url' })).toThrow(
      /DEADDROP_SERVER_URL/,
    );
  });
});
