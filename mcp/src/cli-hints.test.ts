// The SDK's real messages, as the MCP server shows them: no CLI flag the server does not have.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DeadDropClient, createIdentity } from '@deaddrop/client';
import { mcpMessageOf } from './cli-hints.js';
import { describeFailure } from './tool-failure.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'deaddrop-mcp-hints-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

it('names DEADDROP_SERVER_URL, not --server, for an unreachable relay', async () => {
  const identity = await createIdentity('agent-1', { home, relayUrl: 'http://127.0.0.1:9' });
  const error = await failureOf(new DeadDropClient({ identity }).info());
  expect(error).toMatchObject({ message: expect.stringContaining('--server') as unknown });
  expect(mcpMessageOf(error)).toMatch(/\(ECONNREFUSED\); check DEADDROP_SERVER_URL$/);
  // A tool's result adds advice to that message without naming the variable a second time.
  const result = describeFailure(error) ?? '';
  expect(result).toMatch(/check DEADDROP_SERVER_URL\. The relay may be down/);
  expect(result.split('DEADDROP_SERVER_URL')).toHaveLength(2);
});

it('names DEADDROP_HOME and MCP_AGENT_ID, not --home, for an identity that exists', async () => {
  await createIdentity('agent-1', { home, relayUrl: 'http://127.0.0.1:9' });
  const error = await failureOf(
    createIdentity('agent-1', { home, relayUrl: 'http://127.0.0.1:9' }),
  );
  expect(mcpMessageOf(error)).toContain('(use another DEADDROP_HOME or MCP_AGENT_ID)');
  expect(mcpMessageOf(error)).not.toContain('--');
});
