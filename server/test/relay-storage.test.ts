// What the relay keeps: only ciphertext. After a real send through HTTP, no stored byte holds the
// plaintext or the sender's id (PROTOCOL §4), on either driver.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealMessage } from '@deaddrop/contract';
import {
  makeAgent,
  rawClient,
  register,
  REDIS_URL,
  startTestRelay,
  type StoreKind,
  type TestRelay,
} from './support/relay-harness.js';

async function redisDump(prefix: string): Promise<string> {
  const redis = new Redis(REDIS_URL);
  try {
    const parts: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
      cursor = next;
      for (const key of keys) {
        parts.push(key);
        const type = await redis.type(key);
        if (type === 'string') parts.push((await redis.get(key)) ?? '');
        else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
        else parts.push(`<${type}>`);
      }
    } while (cursor !== '0');
    return parts.join('\n');
  } finally {
    redis.disconnect();
  }
}

function fileDump(dir: string): string {
  return readdirSync(dir)
    .map((name) => readFileSync(join(dir, name)).toString('latin1'))
    .join('\n');
}

describe.each<StoreKind>(['embedded', 'redis'])('stored data (%s store)', (kind) => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay(kind);
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('holds ciphertext only: no plaintext, no sender id', async () => {
    // The sender never registers here, so its id can only reach storage through a leak.
    const sender = makeAgent('sender-7f3a9c');
    const recipient = makeAgent('recipient-q');
    await register(relay.url, relay.relayId, recipient);
    const plaintext = 'PLAINTEXT-MARKER-93b1d7';
    const { ciphertext } = sealMessage({
      from: sender.agentId,
      sender: sender.keys,
      to: recipient.agentId,
      recipient: recipient.keys,
      body: plaintext,
    });
    await rawClient(relay.url).send.mutate({ to: recipient.agentId, ciphertext });

    const stored = kind === 'redis' ? await redisDump(relay.keyPrefix) : fileDump(relay.dataDir);
    expect(stored).toContain(ciphertext.slice(0, 200));
    expect(stored).not.toContain(plaintext);
    expect(stored).not.toContain(sender.agentId);
    expect(stored).not.toContain(sender.keys.agentKey);
  });
});
