// The servers `npm run bench` measures — the relay on Redis, the relay on its embedded store, and
// the bare Express + ioredis baseline — and the workload they share (agents registered, envelopes
// sealed before any timing).
import { createRelayTransport, type RelayClient } from '@deaddrop/client';
import {
  deriveAgentKeys,
  generateSeed,
  sealMessage,
  signRegistration,
  type AgentKeys,
} from '@deaddrop/contract';
import { startBuiltRelay } from '../load-support/built-relay.js';
import { REDIS_URL, ownRedisKeyPrefix } from '../load-support/redis.js';
import type { ServerProcess } from '../load-support/spawn-server.js';
import { startBaseline } from './baseline-process.js';

export type RelayStore = 'redis' | 'embedded';

/** A server a send cell runs against: `name` is what the tables show. */
export interface BenchSystem extends ServerProcess {
  readonly name: string;
  /** Keeps its messages in the shared Redis, whose CPU the send cells then count too. */
  readonly onSharedRedis: boolean;
}

export interface BenchRelay extends BenchSystem {
  readonly store: RelayStore;
}

export interface Recipient {
  readonly agentId: string;
  readonly keys: AgentKeys;
  /** One envelope sealed to this recipient before any timing. */
  readonly ciphertext: string;
}

/** A relay process (built: server/dist/main.js) on Redis or on its embedded store. */
export async function startRelay(
  store: RelayStore,
  env: Readonly<Record<string, string>> = {},
): Promise<BenchRelay> {
  const server = await startBuiltRelay({
    name: `bench-relay-${store}`,
    env: {
      ...env,
      STREAM_MAX_LEN: '100000',
      ...(store === 'redis' ? { REDIS_URL, REDIS_KEY_PREFIX: ownRedisKeyPrefix('relay') } : {}),
    },
  });
  return { ...server, name: `relay (${store})`, store, onSharedRedis: store === 'redis' };
}

export async function startBaselineSystem(): Promise<BenchSystem> {
  return { ...(await startBaseline('baseline')), name: 'baseline', onSharedRedis: true };
}

/**
 * The SDK's tRPC client for the relay (createTRPCClient + httpBatchLink over the SDK's lean fetch),
 * one call per request or batches of up to `maxItems`. `send` needs no proof, so no identity.
 */
export function trpcClient(url: string, maxItems = 1): RelayClient {
  return createRelayTransport({
    relayUrl: url,
    relayId: () => Promise.reject(new Error('the benchmark makes no mailbox calls here')),
    maxBatchItems: maxItems,
  });
}

/** `count` recipients with one envelope sealed to each (1 KiB body), shared by every system. */
export function prepareRecipients(count: number, bodyBytes = 1024): Recipient[] {
  const sender = deriveAgentKeys(generateSeed());
  const body = 'x'.repeat(bodyBytes);
  const tag = Date.now().toString(36);
  return Array.from({ length: count }, (_, i) => {
    const agentId = `bench-${tag}-${i}`;
    const keys = deriveAgentKeys(generateSeed());
    const { ciphertext } = sealMessage({
      from: 'bench-sender',
      sender,
      to: agentId,
      recipient: keys,
      body,
    });
    return { agentId, keys, ciphertext };
  });
}

export async function registerRecipients(
  relay: { readonly url: string },
  recipients: readonly Recipient[],
): Promise<void> {
  const client = trpcClient(relay.url);
  const { relayId } = await client.info.query();
  for (const { agentId, keys } of recipients) {
    await client.directory.register.mutate(signRegistration({ relayId, agentId, keys }));
  }
}
