// Valid but random calls for the fuzz suite: lookups of any well-formed agent id, registrations of
// fresh keys (or of a taken id), sends of well-formed envelopes to anyone, polls, deletes, stats and
// subscriptions with random valid parameters; each must succeed or get the catalogued 4xx that
// applies (AGENT_NOT_FOUND, AGENT_ID_TAKEN), with the results PROTOCOL §3 describes.
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  deriveAgentKeys,
  procedures,
  randomBytes,
  signRegistration,
  toB64u,
} from '@deaddrop/contract';
import { superjsonText } from './fuzz-encodings.js';
import { send } from './fuzz-http.js';
import { validAgentId, validMessageId } from './fuzz-inputs.js';
import {
  JSON_HEADERS,
  bob,
  dataOf,
  expectAccepted,
  expectRefusedFor,
  proofHeader,
  queryInput,
  type Target,
} from './fuzz-targets.js';

/** Calls that are valid but random: the answer is a success, or the catalogued 4xx that applies. */
export type ValidOperation =
  | { readonly op: 'lookup'; readonly agentId: string }
  | { readonly op: 'register'; readonly agentId: string; readonly seed: Uint8Array }
  | {
      readonly op: 'send';
      readonly to: string;
      readonly envelope: Uint8Array;
      readonly keyed: boolean;
    }
  | {
      readonly op: 'poll';
      readonly after?: string;
      readonly limit?: number;
      readonly waitMs?: number;
    }
  | { readonly op: 'delete'; readonly ids: readonly string[] }
  | { readonly op: 'stats' }
  | { readonly op: 'inbox'; readonly after?: string };

// Carol serves the health check and ghost stays unregistered (proofs in its name must keep meeting
// AGENT_NOT_REGISTERED): random ids leave both alone.
const randomId = validAgentId.filter((id) => id !== 'carol' && id !== 'ghost');
const knownOrRandomId = fc.oneof(randomId, fc.constantFrom('alice', 'bob', 'mallory', 'ghost'));
const claimableId = fc.oneof(randomId, fc.constantFrom('alice', 'bob', 'mallory'));

export function validOperation(maxMessageBytes: number): fc.Arbitrary<ValidOperation> {
  return fc.oneof(
    fc.record({ op: fc.constant('lookup' as const), agentId: knownOrRandomId }),
    fc.record({
      op: fc.constant('register' as const),
      agentId: claimableId,
      seed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    }),
    fc.record({
      op: fc.constant('send' as const),
      to: knownOrRandomId,
      envelope: fc.uint8Array({ minLength: 168, maxLength: maxMessageBytes - 1 }),
      keyed: fc.boolean(),
    }),
    fc.record(
      {
        op: fc.constant('poll' as const),
        after: validMessageId,
        limit: fc.integer({ min: 1, max: 100 }),
        waitMs: fc.integer({ min: 0, max: 10_000_000 }),
      },
      { requiredKeys: ['op'] },
    ),
    fc.record({
      op: fc.constant('delete' as const),
      ids: fc.array(validMessageId, { minLength: 1, maxLength: 100 }),
    }),
    fc.constant({ op: 'stats' as const }),
    fc.record(
      { op: fc.constant('inbox' as const), after: validMessageId },
      { requiredKeys: ['op'] },
    ),
  );
}

/** `"<ms>-<seq>"` as a number pair that orders like the relay's ids. */
function idOrder(id: string): bigint {
  const [ms = '0', seq = '0'] = id.split('-');
  return (BigInt(ms) << 64n) + BigInt(seq);
}

export async function checkValid(target: Target, operation: ValidOperation): Promise<void> {
  const { url } = target.relay;
  const context = `${target.name}: ${JSON.stringify(operation)}`;
  const get = (path: string, input: unknown, headers: Record<string, string> = {}) =>
    send(url, { method: 'GET', target: `/trpc/${path}?${queryInput(input)}`, headers });
  const post = (path: string, input: unknown, headers: Record<string, string> = {}) =>
    send(url, {
      method: 'POST',
      target: `/trpc/${path}`,
      headers: { ...JSON_HEADERS, ...headers },
      body: superjsonText(input),
    });
  switch (operation.op) {
    case 'lookup': {
      const answer = await get('directory.lookup', { agentId: operation.agentId });
      const key = target.registered.get(operation.agentId);
      if (key === undefined) expectRefusedFor(answer, 'AGENT_NOT_FOUND', context);
      else
        expect(procedures.directory.lookup.output.parse(dataOf(answer, context)).agentKey).toBe(
          key,
        );
      return;
    }
    case 'register': {
      const keys = deriveAgentKeys(operation.seed);
      const registration = signRegistration({
        relayId: target.relay.relayId,
        agentId: operation.agentId,
        keys,
      });
      const answer = await post('directory.register', registration);
      const key = target.registered.get(operation.agentId);
      if (key !== undefined && key !== keys.agentKey) {
        expectRefusedFor(answer, 'AGENT_ID_TAKEN', context);
        return;
      }
      expect(procedures.directory.register.output.parse(dataOf(answer, context)).agentKey).toBe(
        keys.agentKey,
      );
      target.registered.set(operation.agentId, keys.agentKey);
      return;
    }
    case 'send': {
      const ciphertext = toB64u(Uint8Array.of(1, ...operation.envelope));
      const idempotencyKey = operation.keyed ? toB64u(randomBytes(16)) : undefined;
      const answer = await post('send', {
        to: operation.to,
        ciphertext,
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      });
      if (!target.registered.has(operation.to))
        expectRefusedFor(answer, 'AGENT_NOT_FOUND', context);
      else expect(procedures.send.output.parse(dataOf(answer, context)).duplicate).toBe(false);
      return;
    }
    case 'poll': {
      const input = { after: operation.after, limit: operation.limit, waitMs: operation.waitMs };
      const result = procedures.poll.output.parse(
        dataOf(await get('poll', input, proofHeader(target, bob, 'poll')), context),
      );
      const ids = result.messages.map((message) => idOrder(message.id));
      expect(ids.length, context).toBeLessThanOrEqual(input.limit ?? 50);
      ids.forEach((id, index) => {
        expect(
          id > (index === 0 ? idOrder(input.after ?? '0-0') : (ids[index - 1] ?? 0n)),
          context,
        ).toBe(true);
      });
      expect(result.cursor, context).toBe(result.messages.at(-1)?.id ?? input.after ?? '0-0');
      return;
    }
    case 'delete': {
      const answer = await post(
        'delete',
        { ids: operation.ids },
        proofHeader(target, bob, 'delete'),
      );
      expect(procedures.delete.output.parse(dataOf(answer, context)).deleted).toBeLessThanOrEqual(
        operation.ids.length,
      );
      return;
    }
    case 'stats': {
      const answer = await send(url, {
        method: 'GET',
        target: '/trpc/stats',
        headers: proofHeader(target, bob, 'stats'),
      });
      expect(procedures.stats.output.parse(dataOf(answer, context)).agentId).toBe('bob');
      return;
    }
    case 'inbox': {
      const input = { after: operation.after };
      const answer = await send(url, {
        method: 'GET',
        target: `/trpc/inbox?${queryInput(input)}`,
        headers: { ...proofHeader(target, bob, 'inbox'), accept: 'text/event-stream' },
        streamUntil: 'event: connected',
      });
      expectAccepted(answer, context);
      return;
    }
  }
}
