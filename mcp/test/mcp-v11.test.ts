// Messaging v1.1 through the MCP tools over stdio (issue 14): any JSON as the message, a list of
// recipients, replies with their thread fields, files by path, delivery receipts, and the size of
// `tools/list` an agent pays for in its context.
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadDropClient, createIdentity } from '@deaddrop/client';
import { spawnRelay, type SpawnedRelay } from '@deaddrop/test-support/spawn-relay';
import {
  callTool,
  connectStdio,
  removeHome,
  tempHome,
  textOf,
  type StdioAgent,
} from './mcp-harness.js';

/** 110 % of the 10,430 characters `tools/list` took before v1.1 (7 tools). */
const TOOLS_LIST_BUDGET_CHARS = 11_473;

function structured(result: { structuredContent?: Record<string, unknown> | undefined }) {
  expect(result.structuredContent).toBeDefined();
  return result.structuredContent ?? {};
}

interface ReceivedView {
  readonly message_id: string;
  readonly from_agent: string | null;
  readonly message: unknown;
  readonly [field: string]: unknown;
}

describe('deaddrop-mcp, messaging v1.1', () => {
  let relay: SpawnedRelay;
  const homes: string[] = [];
  let alice: StdioAgent;
  let bob: StdioAgent;
  let bobHome: string;
  let carol: DeadDropClient;

  beforeAll(async () => {
    relay = await spawnRelay();
    const [aliceHome, bobsHome, carolHome] = await Promise.all([
      tempHome(),
      tempHome(),
      tempHome(),
    ]);
    bobHome = bobsHome;
    homes.push(aliceHome, bobHome, carolHome);
    [alice, bob] = await Promise.all([
      connectStdio({ agentId: 'alice', relayUrl: relay.url, home: aliceHome }),
      connectStdio({ agentId: 'bob', relayUrl: relay.url, home: bobHome }),
    ]);
    carol = new DeadDropClient({
      identity: await createIdentity('carol', { home: carolHome, relayUrl: relay.url }),
    });
    await carol.register();
    // Both MCP agents registered before anyone writes to them.
    await Promise.all([
      callTool(alice.client, 'get_public_key'),
      callTool(bob.client, 'get_public_key'),
    ]);
  }, 60_000);

  afterAll(async () => {
    carol.close();
    await Promise.allSettled([alice.close(), bob.close()]);
    await relay.stop();
    await Promise.all(homes.map(removeHome));
  });

  async function receive(agent: StdioAgent): Promise<{
    messages: ReceivedView[];
    receipts: { from_agent: string; message_ids: string[]; at: number }[];
  }> {
    const result = await callTool(agent.client, 'receive_messages', { timeout_seconds: 10 });
    expect(result.isError, textOf(result)).toBeUndefined();
    return structured(result) as never;
  }

  it('keeps tools/list within 110 % of its v1 size', async () => {
    const listed = await alice.client.listTools();
    const chars = JSON.stringify(listed).length;
    console.log(
      `tools/list: ${listed.tools.length} tools, ${chars} characters ≈ ${Math.round(chars / 4)} tokens`,
    );
    expect(chars).toBeLessThanOrEqual(TOOLS_LIST_BUDGET_CHARS);
  });

  it('sends an object message that arrives as structured JSON, and reports its receipt', async () => {
    const body = { type: 'task', data: { n: 1, tags: ['a', 'b'] } };
    const sent = await callTool(alice.client, 'send_message', {
      to_agent: 'bob',
      message: body,
      request_receipt: true,
    });
    expect(sent.isError, textOf(sent)).toBeUndefined();
    const { uid, message_id: messageId } = structured(sent);
    expect(typeof uid).toBe('string');

    const { messages } = await receive(bob);
    expect(messages).toEqual([
      expect.objectContaining({
        message_id: messageId,
        from_agent: 'alice',
        message: body,
        receipt_requested: true,
        verified: true,
      }),
    ]);

    // bob's server sends the receipt in the background; alice's next calls report it once.
    let receipts: { from_agent: string; message_ids: string[] }[] = [];
    for (let attempt = 0; attempt < 10 && receipts.length === 0; attempt++)
      receipts = (await receive(alice)).receipts;
    expect(receipts).toEqual([expect.objectContaining({ from_agent: 'bob', message_ids: [uid] })]);
    expect((await callTool(alice.client, 'receive_messages')).structuredContent).toMatchObject({
      receipts: [],
    });
  }, 60_000);

  it('sends to a list of recipients: a result each, an unregistered one failing alone', async () => {
    const sent = await callTool(alice.client, 'send_message', {
      to_agent: ['bob', 'carol', 'nobody-registered'],
      message: 'to all of you',
    });
    expect(sent.isError, textOf(sent)).toBeUndefined();
    const result = structured(sent) as {
      group_id: string;
      results: { to_agent: string; ok: boolean; message_id?: string; error?: string }[];
    };
    expect(result.results.map((r) => [r.to_agent, r.ok])).toEqual([
      ['bob', true],
      ['carol', true],
      ['nobody-registered', false],
    ]);
    expect(result.results[2]?.error).toContain('AGENT_NOT_FOUND');
    expect(textOf(sent)).toContain('NOT sent to nobody-registered');

    const { messages } = await receive(bob);
    expect(messages).toEqual([
      expect.objectContaining({
        from_agent: 'alice',
        message: 'to all of you',
        group: ['alice', 'bob', 'carol', 'nobody-registered'],
      }),
    ]);
    const atCarol = await carol.pollAndDecrypt({ timeoutMs: 10_000 });
    expect(atCarol).toEqual([expect.objectContaining({ from: 'alice', body: 'to all of you' })]);
  }, 60_000);

  it('replies to a received message: the thread fields arrive with it', async () => {
    const first = structured(
      await callTool(alice.client, 'send_message', { to_agent: 'bob', message: { q: 'ready?' } }),
    );
    const [question] = (await receive(bob)).messages;
    expect(question?.message_id).toBe(first.message_id);

    const refused = await callTool(bob.client, 'send_message', {
      to_agent: 'carol',
      message: 'wrong person',
      reply_to: String(first.message_id),
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('a reply goes to its sender (to_agent "alice")');

    const answer = await callTool(bob.client, 'send_message', {
      to_agent: 'alice',
      message: { a: 'yes' },
      reply_to: String(first.message_id),
    });
    expect(answer.isError, textOf(answer)).toBeUndefined();
    const { messages } = await receive(alice);
    expect(messages).toEqual([
      expect.objectContaining({
        from_agent: 'bob',
        message: { a: 'yes' },
        reply_to: first.uid,
        thread_id: first.uid,
      }),
    ]);
  }, 60_000);

  it('sends a file by path; the receiver saves it byte for byte (0600) and says where', async () => {
    const data = randomBytes(3000);
    const path = join(homes[0] ?? '', 'report.pdf');
    await writeFile(path, data);
    const sent = await callTool(alice.client, 'send_message', { to_agent: 'bob', file_path: path });
    expect(sent.isError, textOf(sent)).toBeUndefined();

    const [file] = (await receive(bob)).messages;
    expect(file).toMatchObject({
      from_agent: 'alice',
      message: null,
      content_type: 'application/pdf',
      filename: 'report.pdf',
      bytes: 3000,
    });
    const savedAt = String(file?.file_path);
    expect(savedAt.startsWith(join(bobHome, 'files', 'bob'))).toBe(true);
    expect((await readFile(savedAt)).equals(data)).toBe(true);
    expect((await stat(savedAt)).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('refuses a file above the relay’s limit before reading it, stating the limit in file bytes', async () => {
    const path = join(homes[0] ?? '', 'huge.bin');
    await writeFile(path, Buffer.alloc(2 * 1024 * 1024));
    const refused = await callTool(alice.client, 'send_message', {
      to_agent: 'bob',
      file_path: path,
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(
      /is 2097152 bytes; at most \d+ bytes of file data fit in one message/,
    );
  });

  it('refuses text above the relay’s limit, stating the limit in bytes of text', async () => {
    // carol's limit to bob is alice's: the limit depends on the ids' lengths, and both have 5.
    const { textBytes } = await carol.limits('bob');
    const refused = await callTool(alice.client, 'send_message', {
      to_agent: 'bob',
      message: 'x'.repeat(textBytes + 1),
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(
      `at most ${textBytes} bytes of text (UTF-8) fit in one message to "bob" (this one takes ${textBytes + 1})`,
    );
    const fits = await callTool(alice.client, 'send_message', {
      to_agent: 'bob',
      message: 'x'.repeat(textBytes),
    });
    expect(fits.isError, textOf(fits)).toBeUndefined();
    const [received] = (await receive(bob)).messages;
    expect(String(received?.message).length).toBe(textBytes);
  }, 60_000);

  it('sends no receipt from a server with DEADDROP_RECEIPTS=off (one with receipts on does)', async () => {
    const daveHome = await tempHome();
    homes.push(daveHome);
    const dave = await connectStdio({
      agentId: 'dave',
      relayUrl: relay.url,
      home: daveHome,
      extra: { DEADDROP_RECEIPTS: 'off' },
    });
    try {
      await callTool(dave.client, 'get_public_key');
      const toDave = await carol.sendMessage({ to: 'dave', message: 'got it?', receipt: true });
      const toBob = await carol.sendMessage({ to: 'bob', message: 'got it?', receipt: true });
      // dave reads first, so a receipt it wrongly sent would be under way before bob's.
      expect((await receive(dave)).messages).toEqual([
        expect.objectContaining({ from_agent: 'carol', message_id: toDave.id }),
      ]);
      expect((await receive(bob)).messages).toEqual([
        expect.objectContaining({ from_agent: 'carol', message_id: toBob.id }),
      ]);
      const stop = new AbortController();
      const seen: { from: string; of: readonly string[] }[] = [];
      const reading = (async () => {
        for await (const event of carol.receipts({ signal: stop.signal }))
          seen.push({ from: event.from, of: event.of });
      })();
      for (let attempt = 0; attempt < 10 && !seen.some((r) => r.from === 'bob'); attempt++)
        await carol.pollAndDecrypt({ timeoutMs: 2_000 });
      await carol.pollAndDecrypt({ timeoutMs: 1_000 });
      stop.abort();
      await reading;
      expect(seen).toEqual([{ from: 'bob', of: [toBob.uid] }]);
    } finally {
      await dave.close();
    }
  }, 60_000);

  it('refuses a recipient_public_key the directory does not hold for that agent', async () => {
    const refused = await callTool(alice.client, 'send_message', {
      to_agent: 'bob',
      message: 'hi',
      recipient_public_key: carol.agentKey,
    });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(
      /the key given for "bob" \(fingerprint [0-9a-f-]+\) is not the one .* only a person can override this check .*\(KEY_MISMATCH\)$/,
    );
  });

  it('refuses a message and a file_path together, and neither', async () => {
    const both = await callTool(alice.client, 'send_message', {
      to_agent: 'bob',
      message: 'x',
      file_path: '/etc/hostname',
    });
    expect(textOf(both)).toContain('either message or file_path');
    const neither = await callTool(alice.client, 'send_message', { to_agent: 'bob' });
    expect(textOf(neither)).toContain('Give message');
  });
});
