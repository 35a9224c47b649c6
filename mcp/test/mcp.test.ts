// The MCP server end to end, with the official MCP Client: over stdio (spawned as an MCP client
// would) and Streamable HTTP, against a real relay process.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { DeadDropClient, createIdentity } from '@deaddrop/client';
import { MCP_INBOX_RESOURCE, mcpTools } from '@deaddrop/contract';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import {
  callTool,
  connectHttp,
  connectStdio,
  removeHome,
  spawnHttp,
  tempHome,
  textOf,
  type HttpAgentServer,
  type StdioAgent,
} from './mcp-harness.js';

const TOKEN = 'test-token-0123456789abcdef';
const MAILBOX_LIMIT = 4;

function structured(result: { structuredContent?: Record<string, unknown> | undefined }) {
  expect(result.structuredContent).toBeDefined();
  return result.structuredContent ?? {};
}

describe('deaddrop-mcp', () => {
  let relay: SpawnedRelay;
  const homes: string[] = [];
  let alice: StdioAgent;
  let bobServer: HttpAgentServer;
  let bob: Client;
  let carol: DeadDropClient;

  beforeAll(async () => {
    relay = await spawnRelay({ STREAM_MAX_LEN: String(MAILBOX_LIMIT) });
    const [aliceHome, bobHome, carolHome] = await Promise.all([tempHome(), tempHome(), tempHome()]);
    homes.push(aliceHome, bobHome, carolHome);
    [alice, bobServer] = await Promise.all([
      connectStdio({ agentId: 'alice', relayUrl: relay.url, home: aliceHome }),
      spawnHttp({ agentId: 'bob', relayUrl: relay.url, home: bobHome }, TOKEN),
    ]);
    bob = await connectHttp(bobServer.url, TOKEN);
    carol = new DeadDropClient({
      identity: await createIdentity('carol', { home: carolHome, relayUrl: relay.url }),
    });
    await carol.register();
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([alice.close(), bob.close()]);
    await Promise.allSettled([bobServer.stop(), relay.stop()]);
    await Promise.all(homes.map(removeHome));
  });

  it.each(['stdio', 'http'] as const)(
    'lists exactly the contract’s tools over %s, schemas converted as the SDK converts zod 4',
    async (transport) => {
      const client = transport === 'stdio' ? alice.client : bob;
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(Object.keys(mcpTools).sort());
      for (const tool of tools) {
        const spec = mcpTools[tool.name as keyof typeof mcpTools];
        expect(tool.title).toBe(spec.title);
        expect(tool.description).toBe(spec.description);
        expect(tool.annotations).toEqual({ title: spec.title, ...spec.annotations });
        expect(tool.inputSchema).toEqual(
          z.toJSONSchema(spec.input, { target: 'draft-7', io: 'input' }),
        );
        expect(tool.outputSchema).toEqual(
          z.toJSONSchema(spec.output, { target: 'draft-7', io: 'output' }),
        );
      }
    },
  );

  it('lets two agents exchange messages through the tools', async () => {
    const bobKey = structured(await callTool(bob, 'get_public_key'));
    expect(bobKey).toMatchObject({ agent_id: 'bob', relay_url: relay.url });
    expect(String(bobKey.public_key)).toMatch(/^ddk1_/);

    const sent = await callTool(alice.client, 'send_message', {
      to_agent: 'bob',
      message: 'hello bob, from alice',
    });
    expect(sent.isError).toBeUndefined();
    expect(structured(sent)).toMatchObject({
      to_agent: 'bob',
      key_source: 'directory',
      first_contact: true,
      duplicate: false,
      forward_secret: true,
    });
    expect(textOf(sent)).toContain('Sent to bob');
    expect(textOf(sent)).toContain('forward secret');
    // stdio: logs on stderr only (stdout is the protocol the client is reading).
    expect(alice.stderr()).toContain('"identity created"');

    const received = structured(
      await callTool(bob, 'receive_messages', { timeout_seconds: 10, limit: 10 }),
    );
    expect(received.messages).toEqual([
      expect.objectContaining({
        from_agent: 'alice',
        message: 'hello bob, from alice',
        verified: true,
        message_id: structured(sent).message_id,
      }),
    ]);

    // alice waits for bob specifically; carol's message meanwhile is kept for receive_messages.
    const waiting = callTool(alice.client, 'wait_for_message', {
      from_agent: 'bob',
      timeout_seconds: 20,
    });
    await carol.sendMessage({ to: 'alice', message: 'carol here' });
    await callTool(bob, 'send_message', { to_agent: 'alice', message: 'hi alice' });
    const waited = structured(await waiting);
    expect(waited).toMatchObject({
      timed_out: false,
      message: { from_agent: 'bob', message: 'hi alice', verified: true },
    });
    const rest = structured(await callTool(alice.client, 'receive_messages'));
    expect(rest.messages).toEqual([expect.objectContaining({ from_agent: 'carol' })]);

    const timedOut = structured(
      await callTool(alice.client, 'wait_for_message', { timeout_seconds: 0.5 }),
    );
    expect(timedOut).toEqual({ message: null, timed_out: true });

    const messageId = (received.messages as { message_id: string }[])[0]?.message_id;
    expect(structured(await callTool(bob, 'delete_message', { message_id: messageId }))).toEqual({
      message_id: messageId,
      deleted: true,
    });
    expect(
      structured(await callTool(bob, 'delete_message', { message_id: messageId })).deleted,
    ).toBe(false);
    expect(structured(await callTool(bob, 'get_mailbox_stats'))).toMatchObject({
      agent_id: 'bob',
      count: 0,
      max_messages: MAILBOX_LIMIT,
    });
    expect(structured(await callTool(bob, 'lookup_agent', { agent_id: 'alice' }))).toMatchObject({
      agent_id: 'alice',
      pin_status: 'matches',
    });
  }, 60_000);

  it('notifies a subscribed client when a message arrives (deaddrop://inbox)', async () => {
    const updated = new Promise<string>((resolve) => {
      bob.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
        resolve(notification.params.uri);
      });
    });
    await bob.subscribeResource({ uri: MCP_INBOX_RESOURCE });
    await carol.sendMessage({ to: 'bob', message: 'live for bob' });
    expect(await updated).toBe(MCP_INBOX_RESOURCE);

    const resource = await bob.readResource({ uri: MCP_INBOX_RESOURCE });
    const first = resource.contents[0];
    const body = JSON.parse(first !== undefined && 'text' in first ? first.text : '{}') as {
      messages: { message: string; from_agent: string }[];
    };
    expect(body.messages).toEqual([
      expect.objectContaining({ from_agent: 'carol', message: 'live for bob' }),
    ]);
    const received = structured(await callTool(bob, 'receive_messages'));
    expect(received.messages).toEqual([expect.objectContaining({ message: 'live for bob' })]);
    await bob.unsubscribeResource({ uri: MCP_INBOX_RESOURCE });
  }, 30_000);

  it('reports every domain failure as an isError result with what to do', async () => {
    const failure = async (client: Client, name: string, args: Record<string, unknown>) => {
      const result = await callTool(client, name, args);
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toBeUndefined();
      return textOf(result);
    };

    expect(
      await failure(alice.client, 'send_message', { to_agent: 'nobody', message: 'x' }),
    ).toMatch(/lookup_agent.*AGENT_NOT_FOUND/s);
    expect(
      await failure(alice.client, 'send_message', { to_agent: 'Not An Id', message: 'x' }),
    ).toMatch(/to_agent/);
    expect(await failure(bob, 'delete_message', { message_id: 'not-an-id' })).toMatch(/message_id/);
    // Refused as the CLI refuses it, in the same words.
    expect(await failure(alice.client, 'send_message', { to_agent: 'bob', message: '' })).toContain(
      'the message is empty; nothing sent',
    );

    // A key given out of band that the directory does not hold for that agent (here: bob's key
    // for carol) is refused, and nothing is pinned.
    const bobKey = String(structured(await callTool(bob, 'get_public_key')).public_key);
    expect(
      await failure(alice.client, 'send_message', {
        to_agent: 'carol',
        message: 'sealed to the wrong key',
        recipient_public_key: bobKey,
      }),
    ).toMatch(/only a person can override this check.*KEY_MISMATCH/s);

    // carol's mailbox fills up (she never reads).
    for (let i = 0; i < MAILBOX_LIMIT; i++) {
      const ok = await callTool(alice.client, 'send_message', {
        to_agent: 'carol',
        message: `filler ${i}`,
        recipient_public_key: carol.agentKey,
      });
      expect(ok.isError).toBeUndefined();
    }
    expect(
      await failure(alice.client, 'send_message', { to_agent: 'carol', message: 'x' }),
    ).toMatch(/MAILBOX_FULL/);
  }, 30_000);

  it('refuses a missing or wrong bearer token, and a foreign Host header, over HTTP', async () => {
    for (const token of [undefined, 'wrong-token-0123456789']) {
      const refused = await connectHttp(bobServer.url, token).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(StreamableHTTPError);
      expect((refused as StreamableHTTPError).code).toBe(401);
    }
    const url = new URL(bobServer.url);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            host: `evil.example:${url.port}`,
            authorization: `Bearer ${TOKEN}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
  });

  it('reports a relay that is down as an isError result, not a crash', async () => {
    await relay.stop();
    const result = await callTool(alice.client, 'get_mailbox_stats');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/RELAY_UNREACHABLE|relay/i);
    // Its own setting, not the CLI's flag.
    expect(textOf(result)).not.toContain('--server');
    // Still serving: the process did not die.
    expect((await alice.client.listTools()).tools.length).toBe(Object.keys(mcpTools).length);
  }, 30_000);
});
