// Property-based fuzzing of every relay procedure over real HTTP on loopback (fast-check), on both
// HTTP paths — the procedure lane and tRPC's Express adapter — and on both stores, and of the plain
// HTTP API beside them (/v1). Malformed
// requests must get a 4xx carrying a catalogued tRPC error (never a 5xx, a stack, a hang or a
// crash), a success only where the contract allows one, and the relay must keep serving real
// sealed mail after each property.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRelayErrorReason } from '@deaddrop/contract';
import { abusiveRequest, rawBytes } from './support/fuzz-abuse.js';
import {
  batchCall,
  callCount,
  isBatch,
  isInboxStream,
  requestFor,
  singleCall,
  successAllowed,
  type CallSpec,
} from './support/fuzz-calls.js';
import {
  callOutcomes,
  closeFuzzConnections,
  countRequestsAs,
  describeRequest,
  expectRefusal,
  isEventStream,
  requestTally,
  send,
  sendRaw,
  statusTally,
  type FuzzRequest,
} from './support/fuzz-http.js';
import {
  MAILBOX_REQUESTS,
  inboxInputAccepted,
  inboxRequest,
  inboxSpec,
  mailboxCase,
  mailboxRequest,
  type InboxSpec,
  type MailboxRequestKind,
} from './support/fuzz-mailbox.js';
import { DEFINITIONS } from './support/fuzz-inputs.js';
import {
  expectedPlainRefusal,
  plainRequest,
  plainSpec,
  routeMethod,
  type PlainSpec,
} from './support/fuzz-plain.js';
import {
  authorizationFor,
  expectedAuthFailure,
  proofSpec,
  type ProofSpec,
} from './support/fuzz-proofs.js';
import {
  expectAccepted,
  expectRefusedFor,
  expectServesCorrectly,
  startTarget,
  type Target,
} from './support/fuzz-targets.js';
import { checkValid, validOperation } from './support/fuzz-valid-calls.js';
import { startTestRelay } from './support/relay-harness.js';

const MAX_MESSAGE_BYTES = 4096;
const ENV = {
  // Rate limits off (0): the fuzzer sends thousands of requests from one address.
  RATE_REQUESTS_PER_SECOND: '0',
  RATE_SUBSCRIPTIONS_PER_MINUTE: '0',
  RATE_MAILBOX_MESSAGES_PER_MINUTE: '0',
  RATE_SENDER_MESSAGES_PER_MINUTE: '0',
  RATE_REGISTRATIONS_PER_MINUTE: '0',
  MAX_MESSAGE_SIZE: String(MAX_MESSAGE_BYTES),
  // Valid long-polls come back at once instead of holding the property up.
  MAX_WAIT_MS: '50',
};

/** Sends one call or batch and checks the answer against the contract. */
async function checkCall(target: Target, spec: CallSpec): Promise<void> {
  const request = requestFor(spec, target.proofs);
  const context = `${target.name}: ${describeRequest(request)}`;
  const answer = await send(target.relay.url, request);
  // Node's own limit on a request head (16 KiB), answered before the relay sees the request.
  if (answer.status === 431 && request.target.length > 8_000) return;
  if (isEventStream(answer)) {
    expect(
      isInboxStream(spec) && successAllowed(spec, 0),
      `a stream only for a good inbox request: ${context}`,
    ).toBe(true);
    expect(answer.status, context).toBe(200);
    expect(answer.text, context).toContain('event: connected');
    return;
  }
  const outcomes = callOutcomes(answer, context);
  if (Array.isArray(answer.json)) {
    expect(isBatch(spec), `an array answers a batch only: ${context}`).toBe(true);
    expect(outcomes).toHaveLength(callCount(spec));
  }
  if (isBatch(spec) && callCount(spec) > 100)
    expectRefusal(answer, `batch over the limit: ${context}`);
  outcomes.forEach((outcome, index) => {
    if (outcome.ok)
      expect(
        successAllowed(spec, index),
        `success the contract refuses (call ${index}): ${context}`,
      ).toBe(true);
  });
}

async function checkProof(
  target: Target,
  kind: MailboxRequestKind,
  proof: ProofSpec,
  replay: boolean,
): Promise<void> {
  const { scope, header } = MAILBOX_REQUESTS[kind];
  const request = mailboxRequest(kind, authorizationFor(proof, { ...target.proofs, scope }));
  const context = `${target.name}: ${kind} with ${JSON.stringify(proof)}: ${describeRequest(request)}`;
  let expected = expectedAuthFailure(proof, scope, header);
  if (replay && expected === null) {
    expectAccepted(await send(target.relay.url, request), context);
    expected = 'AUTH_REPLAYED';
  }
  const answer = await send(target.relay.url, request);
  if (expected === null) expectAccepted(answer, context);
  else expectRefusedFor(answer, expected, context);
}

async function checkInbox(target: Target, spec: InboxSpec): Promise<void> {
  const authorization = authorizationFor(spec.proof, { ...target.proofs, scope: 'inbox' });
  const request = inboxRequest(spec, authorization);
  const context = `${target.name}: ${JSON.stringify(spec.proof)}: ${describeRequest(request)}`;
  const answer = await send(target.relay.url, request);
  if (answer.status === 431 && request.target.length > 8_000) return; // Node's head limit
  const refusal = expectedAuthFailure(spec.proof, 'inbox', !spec.viaParams);
  if (refusal !== null) expectRefusedFor(answer, refusal, context);
  else if (!inboxInputAccepted(spec)) expectRefusedFor(answer, 'BAD_INPUT', context);
  else expectAccepted(answer, context);
}

async function checkAbuse(target: Target, request: FuzzRequest): Promise<void> {
  const context = `${target.name}: ${describeRequest(request)}`;
  const answer = await send(target.relay.url, request);
  expect(answer.status, `no 5xx: ${context}\n${answer.text.slice(0, 300)}`).toBeLessThan(500);
  // No request here carries a proof: no stream may start.
  expect(isEventStream(answer), `no stream: ${context}`).toBe(false);
  if (request.method === 'HEAD') return; // no body to check
  if (answer.status === 431 && request.target.length > 8_000) return;
  const path = request.target.split('?', 1)[0] ?? '';
  if (!/^\/trpc(\/|$)/i.test(path)) {
    // Outside tRPC's mount: Express's 404, or the liveness probe.
    expect([200, 404], context).toContain(answer.status);
    return;
  }
  const streamed = [request.headers?.['trpc-accept'], request.headers?.accept].includes(
    'application/jsonl',
  );
  if (answer.json === undefined && streamed) {
    // A streamed (jsonl) batch answers 200 and puts each call's error in the stream.
    expect(answer.ended, context).toBe(true);
    expect(answer.text, context).not.toContain('"stack"');
    return;
  }
  const outcomes = callOutcomes(answer, context);
  if (outcomes.some((outcome) => outcome.ok))
    expect(['GET', 'POST'], context).toContain(request.method);
}

/** The status of the refusals the plain API answers before reading anything. */
const EARLY_STATUS: Readonly<Record<string, number>> = {
  UNKNOWN_PROCEDURE: 404,
  METHOD_NOT_ALLOWED: 405,
};

async function checkPlain(target: Target, spec: PlainSpec): Promise<void> {
  const request = plainRequest(spec, target.proofs);
  const context = `${target.name}: ${JSON.stringify(spec.proof)}: ${describeRequest(request)}`;
  const answer = await send(target.relay.url, request);
  if (answer.status === 431 && request.target.length > 8_000) return; // Node's head limit
  expect(answer.status, `no 5xx: ${context}\n${answer.text.slice(0, 300)}`).toBeLessThan(500);
  const refusal = expectedPlainRefusal(spec);
  if (isEventStream(answer)) {
    expect(
      refusal === null && DEFINITIONS.get(spec.path)?.kind === 'subscription',
      `a stream only for a good inbox request: ${context}`,
    ).toBe(true);
    expect(answer.status, context).toBe(200);
    expect(answer.text, context).toContain(': connected');
    return;
  }
  const head = spec.method === 'HEAD';
  if (!head) {
    expect(answer.headers['content-type'], context).toBe('application/json');
    expect(answer.text, context).not.toContain('"stack"');
  }
  if (refusal !== null) {
    expect(answer.status, context).toBe(EARLY_STATUS[refusal] ?? 401);
    if (!head) expect(answer.json, context).toMatchObject({ error: { reason: refusal } });
    if (refusal === 'METHOD_NOT_ALLOWED')
      expect(answer.headers.allow, context).toBe(routeMethod(spec.path));
    return;
  }
  if (answer.status === 200 || head) return;
  const error = (answer.json as { error?: { reason?: unknown; message?: unknown } }).error;
  expect(isRelayErrorReason(error?.reason), `a catalogued reason: ${context}`).toBe(true);
  expect(typeof error?.message, context).toBe('string');
}

async function checkRaw(target: Target, bytes: Uint8Array): Promise<void> {
  const answer = await sendRaw(target.relay.url, bytes);
  const context = `${target.name}: ${JSON.stringify(Buffer.from(bytes).toString('latin1'))}`;
  for (const status of answer.statuses) expect(status, context).toBeLessThan(500);
  expect(answer.text, context).not.toContain('"stack"');
}

let lane: Target;
let trpc: Target;
let redis: Target;
const startedAt = performance.now();

/** How long each test may take (vitest's timeout for it). */
const TEST_TIMEOUT_MS = 180_000;
/** Kept back from a test's time for the checks between properties and the relays' answers. */
const TEST_RESERVE_MS = 20_000;
/** Properties a busy machine cut short before their runs were done: `name (relay): runs/asked`. */
const cutShort: string[] = [];

/**
 * Runs one property against each relay (bounded runs; fast-check prints the seed and the shrunk
 * counterexample of a failure), then checks the relay still serves real mail. Each relay's run,
 * shrinking included, gets its share of the test's time: a failure whose shrinking would outlast
 * the test is reported with the smallest counterexample found so far, not lost to a timeout.
 */
async function fuzz<T>(
  name: string,
  runs: readonly (readonly [Target, number])[],
  arbitrary: fc.Arbitrary<T>,
  check: (target: Target, value: T) => Promise<void>,
): Promise<void> {
  const budgetMs = (TEST_TIMEOUT_MS - TEST_RESERVE_MS) / runs.length;
  for (const [target, numRuns] of runs) {
    countRequestsAs(name);
    const details = await fc.check(
      fc.asyncProperty(arbitrary, (value) => check(target, value)),
      { numRuns, plugins: [fc.interruptAfterTimeLimit(budgetMs)] },
    );
    if (details.failed) {
      const cause = details.errorInstance;
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new Error(`${fc.defaultReportMessage(details)}\nFailure: ${why}`, { cause });
    }
    if (details.interrupted)
      cutShort.push(`${name} (${target.name}): ${details.numRuns}/${numRuns}`);
    await expectServesCorrectly(target);
  }
}

describe('fuzzing the relay over HTTP', { timeout: TEST_TIMEOUT_MS }, () => {
  beforeAll(async () => {
    [lane, trpc, redis] = await Promise.all([
      startTarget('lane', startTestRelay('embedded', ENV, { procedureLane: true })),
      startTarget('trpc', startTestRelay('embedded', ENV, { procedureLane: false })),
      startTarget('redis', startTestRelay('redis', ENV)),
    ]);
  });
  afterAll(async () => {
    closeFuzzConnections();
    await Promise.all([lane, trpc, redis].map((target) => target.relay.stop()));
    const tally = [...requestTally()];
    const total = tally.reduce((sum, [, count]) => sum + count, 0);
    const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
    const parts = tally.map(([name, count]) => `${name} ${count}`).join(', ');
    const statuses = [...statusTally()].map(([name, count]) => `${name} ${count}`).join(', ');
    console.info(`fuzz: ${total} requests tried in ${seconds} s (${parts}; answers: ${statuses})`);
    if (cutShort.length > 0)
      console.info(`fuzz: cut short by their time budget: ${cutShort.join(', ')}`);
  });

  it('answers single calls of every procedure with a contract-allowed success or a catalogued 4xx', async () => {
    const calls = singleCall(MAX_MESSAGE_BYTES, proofSpec({ valid: 3 }));
    await fuzz(
      'single calls',
      [
        [lane, 400],
        [trpc, 400],
        [redis, 120],
      ],
      calls,
      checkCall,
    );
  });

  it('answers broken batches (missing, extra and misnamed entries, too many calls) the same way', async () => {
    const batches = batchCall(MAX_MESSAGE_BYTES, proofSpec({ valid: 3 }));
    await fuzz(
      'batches',
      [
        [lane, 200],
        [trpc, 200],
        [redis, 60],
      ],
      batches,
      checkCall,
    );
  });

  it('refuses each defective, forged, replayed or mis-scoped proof with its reason, wherever it travels', async () => {
    await fuzz(
      'proofs',
      [
        [lane, 150],
        [trpc, 150],
        [redis, 150],
      ],
      mailboxCase,
      (target, { kind, proof, replay }) => checkProof(target, kind, proof, replay),
    );
  });

  it('answers SSE subscription requests with a stream only for a good proof and input, else JSON', async () => {
    const specs = inboxSpec(MAX_MESSAGE_BYTES);
    await fuzz(
      'SSE requests',
      [
        [lane, 150],
        [trpc, 80],
        [redis, 80],
      ],
      specs,
      checkInbox,
    );
  });

  it('survives HTTP-level abuse: odd methods, paths, queries, content types and bodies', async () => {
    await fuzz(
      'HTTP abuse',
      [
        [lane, 250],
        [trpc, 150],
      ],
      abusiveRequest,
      checkAbuse,
    );
  });

  it('answers the plain API with a success, a stream for a good inbox request, or a catalogued 4xx in its shape', async () => {
    await fuzz(
      'plain API',
      [
        [lane, 250],
        [redis, 100],
      ],
      plainSpec,
      checkPlain,
    );
  });

  it('survives requests mutated byte by byte on raw TCP connections', async () => {
    await fuzz(
      'raw TCP',
      [
        [lane, 200],
        [trpc, 150],
      ],
      rawBytes,
      checkRaw,
    );
  });

  it('answers valid but random calls with a success or the catalogued 4xx that applies', async () => {
    await fuzz(
      'valid random calls',
      [
        [lane, 120],
        [trpc, 120],
        [redis, 120],
      ],
      validOperation(MAX_MESSAGE_BYTES),
      checkValid,
    );
  });
});
