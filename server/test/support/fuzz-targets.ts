// The relays the fuzz suite attacks and what it checks on them between properties: the agents
// registered on each, proofs and inputs for well-formed calls, the shapes of an accepted and a
// refused request, and the health check — real sealed mail still goes through.
import { expect } from 'vitest';
import {
  createProof,
  encodeAuthorization,
  openMessage,
  procedures,
  randomBytes,
  sealMessage,
  toB64u,
  type RelayErrorReason,
} from '@deaddrop/contract';
import { superjsonText } from './fuzz-encodings.js';
import {
  callOutcomes,
  countRequestsAs,
  expectRefusal,
  isEventStream,
  send,
  type FuzzAnswer,
} from './fuzz-http.js';
import type { ProofContext } from './fuzz-proofs.js';
import { makeAgent, register, type TestAgent, type TestRelay } from './relay-harness.js';

const alice = makeAgent('alice');
export const bob = makeAgent('bob');
/** Carol's mailbox serves the health check alone; the fuzzer never names her. */
const carol = makeAgent('carol');
const mallory = makeAgent('mallory');
/** Never registered anywhere. */
const ghost = makeAgent('ghost');

export interface Target {
  readonly name: string;
  readonly relay: TestRelay;
  /** Proofs for bob's mailbox, the one the fuzzer attacks (carol's serves the health check). */
  readonly proofs: Omit<ProofContext, 'scope'>;
  /** Agent id → agent key, as registered on this relay. */
  readonly registered: Map<string, string>;
}

export async function startTarget(name: string, relay: Promise<TestRelay>): Promise<Target> {
  const started = await relay;
  const registered = new Map<string, string>();
  for (const agent of [alice, bob, carol, mallory]) {
    await register(started.url, started.relayId, agent);
    registered.set(agent.agentId, agent.keys.agentKey);
  }
  const proofs = { relayId: started.relayId, owner: bob, forger: mallory, stranger: ghost };
  return { name, relay: started, proofs, registered };
}

export const JSON_HEADERS = { 'content-type': 'application/json' };

export function proofHeader(
  target: Target,
  agent: TestAgent,
  scope: string,
): Record<string, string> {
  const proof = createProof({
    relayId: target.relay.relayId,
    agentId: agent.agentId,
    keys: agent.keys,
    scope,
  });
  return { authorization: encodeAuthorization(proof) };
}

export function queryInput(value: unknown): string {
  return `input=${encodeURIComponent(superjsonText(value))}`;
}

/** The single call's data of a successful answer. */
export function dataOf(answer: FuzzAnswer, context: string): unknown {
  const [outcome] = callOutcomes(answer, context);
  if (outcome?.ok !== true) throw new Error(`${context} failed: ${answer.text.slice(0, 500)}`);
  return outcome.data;
}

// Relays run in this process: a polluted prototype would show here.
const prototypeKeys = (): string[] =>
  [Object.prototype, Array.prototype].flatMap((proto) => Object.getOwnPropertyNames(proto)).sort();
const PROTOTYPE_KEYS = prototypeKeys();

/** After a property: a real sealed message goes through send → poll → open → delete, and more. */
export async function expectServesCorrectly(target: Target): Promise<void> {
  countRequestsAs('health checks');
  const { url } = target.relay;
  const body = { probe: toB64u(randomBytes(12)) };
  const sealed = sealMessage({
    from: 'alice',
    sender: alice.keys,
    to: 'carol',
    recipient: carol.keys,
    body,
  });
  const sent = procedures.send.output.parse(
    dataOf(
      await send(url, {
        method: 'POST',
        target: '/trpc/send',
        headers: JSON_HEADERS,
        body: superjsonText({ to: 'carol', ciphertext: sealed.ciphertext }),
      }),
      `${target.name}: send`,
    ),
  );
  const polled = procedures.poll.output.parse(
    dataOf(
      await send(url, {
        method: 'GET',
        target: `/trpc/poll?${queryInput({ limit: 100 })}`,
        headers: proofHeader(target, carol, 'poll'),
      }),
      `${target.name}: poll`,
    ),
  );
  const stored = polled.messages.find((message) => message.id === sent.id);
  expect(stored?.ciphertext).toBe(sealed.ciphertext);
  const opened = openMessage(stored?.ciphertext ?? '', 'carol', carol.keys);
  expect(opened.ok && opened.message.body).toEqual(body);
  const deleted = procedures.delete.output.parse(
    dataOf(
      await send(url, {
        method: 'POST',
        target: '/trpc/delete',
        headers: { ...JSON_HEADERS, ...proofHeader(target, carol, 'delete') },
        body: superjsonText({ ids: [sent.id] }),
      }),
      `${target.name}: delete`,
    ),
  );
  expect(deleted.deleted).toBe(1);
  const found = procedures.directory.lookup.output.parse(
    dataOf(
      await send(url, {
        method: 'GET',
        target: `/trpc/directory.lookup?${queryInput({ agentId: 'alice' })}`,
      }),
      `${target.name}: lookup`,
    ),
  );
  expect(found.agentKey).toBe(alice.keys.agentKey);
  const info = procedures.info.output.parse(
    dataOf(await send(url, { method: 'GET', target: '/trpc/info' }), `${target.name}: info`),
  );
  expect(info.relayId).toBe(target.relay.relayId);
  // Every stream the fuzzer opened and dropped is gone from the relay.
  await expect.poll(() => target.relay.sseStreams(), { timeout: 2_000 }).toBe(0);
  expect(prototypeKeys()).toEqual(PROTOTYPE_KEYS);
}

/** A mailbox request that succeeded: its calls all did, or its stream started. */
export function expectAccepted(answer: FuzzAnswer, context: string): void {
  if (isEventStream(answer)) {
    expect(answer.status, context).toBe(200);
    expect(answer.text, context).toContain('event: connected');
    return;
  }
  for (const outcome of callOutcomes(answer, context)) expect(outcome.ok, context).toBe(true);
}

/** A refusal for `reason` (401, or 400 for input): JSON, before any stream starts. */
export function expectRefusedFor(
  answer: FuzzAnswer,
  reason: RelayErrorReason,
  context: string,
): void {
  expect(isEventStream(answer), `no stream for a refused request: ${context}`).toBe(false);
  for (const error of expectRefusal(answer, context)) {
    expect(error.data.reason, context).toBe(reason);
  }
}
