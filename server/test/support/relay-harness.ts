// Starts a real relay on loopback for a test, on either store driver, with raw tRPC clients that
// let a test choose every header (the SDK's signing is tested in client/).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import superjson from 'superjson';
import {
  createProof,
  deriveAgentKeys,
  encodeAuthorization,
  generateSeed,
  sealMessage,
  signRegistration,
  type AgentKeys,
  type AppRouter,
  type JsonValue,
} from '@deaddrop/contract';
import { RATE_LIMITS_OFF } from '@deaddrop/test-support/spawn-relay';
import { loadRelayConfig } from '../../src/env.js';
import { silentLogger } from '../../src/log.js';
import { startRelay, type RunningRelay, type StartRelayOptions } from '../../src/relay.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export type StoreKind = 'embedded' | 'redis';

export interface TestRelay extends RunningRelay {
  readonly dataDir: string;
  readonly keyPrefix: string;
  readonly relayId: string;
  stop(): Promise<void>;
}

let counter = 0;

/**
 * A relay on loopback. Two relays share one Redis's data when `env` gives the second the first's
 * REDIS_KEY_PREFIX (and, to be explicit, DEADDROP_RELAY_ID); `options.now` is the relay's clock.
 */
export async function startTestRelay(
  kind: StoreKind,
  env: Record<string, string> = {},
  options: Pick<
    StartRelayOptions,
    'slowConsumerMs' | 'procedureLane' | 'now' | 'store' | 'webhookTiming' | 'webhookResolver'
  > = {},
): Promise<TestRelay> {
  const dataDir = mkdtempSync(join(tmpdir(), 'deaddrop-relay-'));
  const keyPrefix = env.REDIS_KEY_PREFIX ?? `test-${process.pid}-${Date.now()}-${counter++}:`;
  const config = loadRelayConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DEADDROP_DATA_DIR: dataDir,
    ...(kind === 'redis' ? { REDIS_URL, REDIS_KEY_PREFIX: keyPrefix } : {}),
    ...RATE_LIMITS_OFF,
    ...env,
  });
  const relay = await startRelay(config, { log: silentLogger, ...options });
  return {
    ...relay,
    dataDir,
    keyPrefix,
    relayId: relay.services.relayId,
    stop: async () => {
      await relay.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type Headers = Record<string, string>;

export function rawClient(url: string, headers: () => Headers = () => ({})) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/trpc`, transformer: superjson, headers })],
  });
}

export function rawBatchClient(url: string, headers: () => Headers) {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: `${url}/trpc`, transformer: superjson, headers, maxItems: 10 })],
  });
}

export interface TestAgent {
  readonly agentId: string;
  readonly keys: AgentKeys;
}

export function makeAgent(agentId: string): TestAgent {
  return { agentId, keys: deriveAgentKeys(generateSeed()) };
}

/** A real envelope from `from` to `to` (the relay only checks its shape and size). */
export function seal(from: TestAgent, to: TestAgent, body: JsonValue = 'hello'): string {
  return sealMessage({
    from: from.agentId,
    sender: from.keys,
    to: to.agentId,
    recipient: to.keys,
    body,
  }).ciphertext;
}

export async function register(
  url: string,
  relayId: string,
  agent: TestAgent,
  headers: Headers = {},
) {
  return rawClient(url, () => headers).directory.register.mutate(
    signRegistration({ relayId, agentId: agent.agentId, keys: agent.keys }),
  );
}

export function authHeader(
  relayId: string,
  agent: TestAgent,
  scope: string,
  overrides: { ts?: number; nonce?: string; agentId?: string } = {},
): Headers {
  const proof = createProof({
    relayId,
    agentId: overrides.agentId ?? agent.agentId,
    keys: agent.keys,
    scope,
    ...(overrides.ts === undefined ? {} : { ts: overrides.ts }),
    ...(overrides.nonce === undefined ? {} : { nonce: overrides.nonce }),
  });
  return { authorization: encodeAuthorization(proof) };
}

/** A client that signs a fresh proof for `scope` on every request. */
export function mailboxClient(url: string, relayId: string, agent: TestAgent, scope: string) {
  return rawClient(url, () => authHeader(relayId, agent, scope));
}

/** The tRPC code and catalogue reason of a rejected call. */
export async function rejection(
  call: Promise<unknown>,
): Promise<{ code: string; reason: string; status: number; message: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof TRPCClientError) {
      const data = (error as TRPCClientError<AppRouter>).data;
      return {
        code: data?.code ?? '?',
        reason: data?.reason ?? '?',
        status: data?.httpStatus ?? 0,
        message: error.message,
      };
    }
    throw error;
  }
  throw new Error('expected the call to be rejected');
}
