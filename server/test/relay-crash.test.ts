// A relay process SIGKILLed in the middle of a stream of sends loses none it acknowledged: after a
// restart on the same store, every acknowledged id is in the mailbox (PROTOCOL §4 durability).
// @module-tag slow (SIGKILLs relay processes): npm test only, not npm run test:fast
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { sealMessage } from '@deaddrop/contract';
import { spawnRelay } from '@deaddrop/test-support/spawn-relay';
import {
  REDIS_URL,
  makeAgent,
  mailboxClient,
  rawClient,
  register,
  type StoreKind,
} from './support/relay-harness.js';

const IN_FLIGHT = 8;
const KILL_AFTER_ACKS = 120;

async function storeEnv(
  kind: StoreKind,
): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  if (kind === 'embedded') {
    const dir = await mkdtemp(join(tmpdir(), 'deaddrop-crash-'));
    return {
      env: { DEADDROP_DATA_DIR: dir },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const prefix = `crash-${process.pid}-${Date.now()}:`;
  return {
    env: { REDIS_URL, REDIS_KEY_PREFIX: prefix },
    cleanup: async () => {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

describe.each<StoreKind>(['embedded', 'redis'])('relay SIGKILL (%s store)', (kind) => {
  it('keeps every acknowledged send', { timeout: 60_000 }, async () => {
    const { env, cleanup } = await storeEnv(kind);
    try {
      const first = await spawnRelay(env);
      const relayId = (await rawClient(first.url).info.query()).relayId;
      const sender = makeAgent('sender');
      const bob = makeAgent('bob');
      await register(first.url, relayId, bob);
      const ciphertext = (n: number) =>
        sealMessage({
          from: 'sender',
          sender: sender.keys,
          to: 'bob',
          recipient: bob.keys,
          body: n,
        }).ciphertext;

      const client = rawClient(first.url);
      const acknowledged: string[] = [];
      let killed = false;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (!killed && next < 5_000) {
          const body = next++;
          try {
            const { id } = await client.send.mutate({ to: 'bob', ciphertext: ciphertext(body) });
            acknowledged.push(id);
            // Exactly once: each acknowledgement adds one id.
            if (acknowledged.length === KILL_AFTER_ACKS) {
              killed = true;
              first.kill('SIGKILL');
            }
          } catch {
            // In flight when the relay died: neither acknowledged nor promised.
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      if (first.child.exitCode === null && first.child.signalCode === null) {
        await new Promise((resolve) => first.child.once('exit', resolve));
      }
      expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);

      const second = await spawnRelay(env);
      try {
        expect((await rawClient(second.url).info.query()).relayId).toBe(relayId);
        const stored = new Set<string>();
        let after = '0-0';
        for (let page = 0; page < 100; page++) {
          const { messages, cursor } = await mailboxClient(
            second.url,
            relayId,
            bob,
            'poll',
          ).poll.query({ after, limit: 100 });
          for (const message of messages) stored.add(message.id);
          if (messages.length === 0) break;
          after = cursor;
        }
        expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
      } finally {
        await second.stop();
      }
    } finally {
      await cleanup();
    }
  });
});
