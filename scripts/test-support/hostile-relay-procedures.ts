// The hostile relay's honest answers, one per request/response procedure, checked against the
// contract's schemas like the real relay's. Two shortcuts: signatures (registration, mailbox proofs)
// are not verified, and proofs are not checked for freshness, scope or reuse.
import {
  PROTOCOL_VERSIONS,
  verifyRotationStep,
  b64uDecodedLength,
  batchBytesLimit,
  decodeAuthorization,
  parseAgentKey,
  PREKEYS_HELD_MAX,
  verifyPrekey,
  procedures,
  type Limits,
  type SendInput,
  type SendManyItemResult,
  type SendResult,
} from '@deaddrop/contract';
import type { z } from 'zod';
import type {
  CallOutput,
  CallPath,
  HonestAnswer,
  RelayErrorSpec,
} from './hostile-relay-behaviours.js';
import { invalidInput, relayFault } from './hostile-relay-errors.js';
import { HonestRelayState } from './hostile-relay-state.js';
import { RATE_LIMITS_NONE } from './rate-limits-none.js';

/** What an honest answer needs from the request. */
export interface HonestCall {
  readonly input: unknown;
  readonly authorization: string | undefined;
  /** Ends a long-poll early: the client left or the relay is closing. */
  readonly signal: AbortSignal;
}

interface HonestProcedure<P extends CallPath> {
  readonly method: 'GET' | 'POST';
  answer(state: HonestRelayState, call: HonestCall): Promise<HonestAnswer<CallOutput<P>>>;
}

/** The input parsed by `schema`, or the relay's `invalid input` error. */
function parsed<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
): { readonly ok: true; readonly value: z.output<Schema> } | { readonly error: RelayErrorSpec } {
  const result = schema.safeParse(input);
  return result.success
    ? { ok: true, value: result.data }
    : { error: invalidInput(result.error.issues) };
}

/** The mailbox a proof opens, or the 401 the relay would give. */
export function mailboxOwner(
  state: HonestRelayState,
  authorization: string | undefined,
): { readonly agentId: string } | { readonly error: RelayErrorSpec } {
  if (authorization === undefined || authorization === '')
    return { error: relayFault('AUTH_MISSING') };
  const proof = decodeAuthorization(authorization);
  if (proof === null) return { error: relayFault('AUTH_MALFORMED') };
  if (state.lookup(proof.agentId) === null) return { error: relayFault('AGENT_NOT_REGISTERED') };
  return { agentId: proof.agentId };
}

/** Resolves when a message reaches `agentId`'s mailbox, `waitMs` passes or `signal` aborts. */
function delivery(state: HonestRelayState, agentId: string, waitMs: number, signal: AbortSignal) {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      stop();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    const stop = state.listen(agentId, done);
    signal.addEventListener('abort', done);
    if (signal.aborted) done();
  });
}

function stats(state: HonestRelayState, agentId: string, limits: Limits) {
  const messages = state.messages(agentId);
  return {
    agentId,
    count: messages.length,
    bytes: HonestRelayState.bytesOf(messages),
    oldestId: messages[0]?.id ?? null,
    newestId: messages.at(-1)?.id ?? null,
    limits,
    prekeys: state.prekeys(agentId).length,
  };
}

/** One message into one mailbox, as `send` and each item of `sendMany` store it. */
function sendOne(state: HonestRelayState, input: SendInput): HonestAnswer<SendResult> {
  const { to, ciphertext, idempotencyKey } = input;
  const bytes = b64uDecodedLength(ciphertext);
  const max = state.limits.maxMessageBytes;
  if (bytes > max)
    return {
      error: relayFault('MESSAGE_TOO_LARGE', `${bytes} bytes; this relay accepts at most ${max}`),
    };
  const outcome = state.send(to, ciphertext, idempotencyKey);
  switch (outcome.status) {
    case 'stored':
    case 'duplicate':
      return { data: outcome.result };
    case 'no-mailbox':
      return { error: relayFault('AGENT_NOT_FOUND', `"${to}"`) };
    case 'conflict':
      return { error: relayFault('IDEMPOTENCY_CONFLICT') };
    case 'full':
      return {
        error: relayFault(
          'MAILBOX_FULL',
          `${outcome.count} messages waiting (limit ${state.limits.maxMessages})`,
        ),
      };
  }
}

export const honestProcedures: { readonly [P in CallPath]: HonestProcedure<P> } = {
  info: {
    method: 'GET',
    answer: (state) =>
      Promise.resolve({
        data: {
          relayId: state.relayId,
          version: state.version,
          limits: state.limits,
          rateLimits: { ...RATE_LIMITS_NONE },
          protocol: [...PROTOCOL_VERSIONS],
        },
      }),
  },
  'directory.register': {
    method: 'POST',
    answer: (state, call) => {
      const input = parsed(procedures.directory.register.input, call.input);
      if ('error' in input) return Promise.resolve(input);
      const { agentId, agentKey } = input.value;
      const outcome = state.register(agentId, agentKey, Date.now());
      return Promise.resolve(
        outcome.status === 'conflict'
          ? { error: relayFault('AGENT_ID_TAKEN', `"${agentId}"`) }
          : { data: { ...outcome.record, rotations: [] } },
      );
    },
  },
  'directory.lookup': {
    method: 'GET',
    answer: (state, call) => {
      const input = parsed(procedures.directory.lookup.input, call.input);
      if ('error' in input) return Promise.resolve(input);
      const record = state.lookup(input.value.agentId);
      return Promise.resolve(
        record === null
          ? { error: relayFault('AGENT_NOT_FOUND', `"${input.value.agentId}"`) }
          : { data: { ...record, rotations: [] } },
      );
    },
  },
  'directory.publishPrekeys': {
    method: 'POST',
    answer: (state, call) => {
      const owner = mailboxOwner(state, call.authorization);
      if ('error' in owner) return Promise.resolve(owner);
      const input = parsed(procedures.directory.publishPrekeys.input, call.input);
      if ('error' in input) return Promise.resolve(input);
      const record = state.lookup(owner.agentId);
      const signer = record === null ? null : parseAgentKey(record.agentKey);
      const bad = input.value.prekeys.find(
        (prekey) => signer === null || !verifyPrekey(owner.agentId, prekey, signer),
      );
      if (bad !== undefined) {
        return Promise.resolve({ error: relayFault('PREKEY_BAD_SIGNATURE', bad.id) });
      }
      const held = state.prekeys(owner.agentId).length;
      if (held + input.value.prekeys.length > PREKEYS_HELD_MAX) {
        return Promise.resolve({ error: relayFault('PREKEYS_FULL', `it holds ${held}`) });
      }
      const total = state.publishPrekeys(owner.agentId, input.value.prekeys);
      return Promise.resolve({ data: { stored: input.value.prekeys.length, total } });
    },
  },
  'directory.claimPrekey': {
    method: 'POST',
    answer: (state, call) => {
      const input = parsed(procedures.directory.claimPrekey.input, call.input);
      if ('error' in input) return Promise.resolve(input);
      const { agentId } = input.value;
      if (state.lookup(agentId) === null) {
        return Promise.resolve({ error: relayFault('AGENT_NOT_FOUND', `"${agentId}"`) });
      }
      const prekey = state.claimPrekey(agentId);
      return Promise.resolve({ data: { prekey, remaining: state.prekeys(agentId).length } });
    },
  },
  'directory.rotate': {
    method: 'POST',
    // Honest without a history: the key changes when both signatures verify against the current
    // key; lookups answer no rotations (a test wanting a chain answers it with a behaviour).
    answer: (state, call) => {
      const input = parsed(procedures.directory.rotate.input, call.input);
      if ('error' in input) return Promise.resolve(input);
      const { agentId, newKey, ts, sigOld, sigNew } = input.value;
      const record = state.lookup(agentId);
      if (record === null) return Promise.resolve({ error: relayFault('AGENT_NOT_FOUND') });
      const step = { oldKey: record.agentKey, newKey, ts, sigOld, sigNew };
      if (verifyRotationStep(state.relayId, agentId, step) !== null)
        return Promise.resolve({ error: relayFault('ROTATE_BAD_SIGNATURE') });
      const next = state.setRecord(agentId, newKey, record.registeredAt);
      return Promise.resolve({ data: { ...next, rotations: [step] } });
    },
  },
  send: {
    method: 'POST',
    answer: (state, call) => {
      const input = parsed(procedures.send.input, call.input);
      return Promise.resolve('error' in input ? input : sendOne(state, input.value));
    },
  },
  sendMany: {
    method: 'POST',
    answer: (state, call) => {
      const input = parsed(procedures.sendMany.input, call.input);
      if ('error' in input) return Promise.resolve(input);
      let bytes = 0;
      for (const item of input.value.items) bytes += b64uDecodedLength(item.ciphertext);
      const max = batchBytesLimit(state.limits);
      if (bytes > max)
        return Promise.resolve({
          error: relayFault(
            'BAD_INPUT',
            `the ciphertexts add up to ${bytes} bytes; this relay accepts at most ${max} in one sendMany`,
          ),
        });
      const results = input.value.items.map((item): SendManyItemResult => {
        const answer = sendOne(state, item);
        return 'data' in answer
          ? { to: item.to, ok: true, ...answer.data }
          : {
              to: item.to,
              ok: false,
              code: answer.error.code,
              reason: answer.error.reason,
              message: answer.error.message,
            };
      });
      return Promise.resolve({ data: { results } });
    },
  },
  poll: {
    method: 'GET',
    answer: async (state, call) => {
      const owner = mailboxOwner(state, call.authorization);
      if ('error' in owner) return owner;
      const input = parsed(procedures.poll.input, call.input);
      if ('error' in input) return input;
      const { after = '0-0', limit, waitMs = 0 } = input.value;
      const deadline = Date.now() + Math.min(waitMs, state.limits.maxWaitMs);
      let messages = state.read(owner.agentId, after, limit);
      // Bounded by the deadline: each round waits for a delivery or the time left.
      while (messages.length === 0 && !call.signal.aborted && deadline > Date.now()) {
        await delivery(state, owner.agentId, deadline - Date.now(), call.signal);
        messages = state.read(owner.agentId, after, limit);
      }
      return { data: { messages, cursor: messages.at(-1)?.id ?? after } };
    },
  },
  stats: {
    method: 'GET',
    answer: (state, call) => {
      const owner = mailboxOwner(state, call.authorization);
      if ('error' in owner) return Promise.resolve(owner);
      return Promise.resolve({ data: stats(state, owner.agentId, state.limits) });
    },
  },
  delete: {
    method: 'POST',
    answer: (state, call) => {
      const owner = mailboxOwner(state, call.authorization);
      if ('error' in owner) return Promise.resolve(owner);
      const input = parsed(procedures.delete.input, call.input);
      if ('error' in input) return Promise.resolve(input);
      return Promise.resolve({ data: { deleted: state.delete(owner.agentId, input.value.ids) } });
    },
  },
  'hooks.set': {
    method: 'POST',
    answer: (state, call) => {
      const owner = mailboxOwner(state, call.authorization);
      if ('error' in owner) return Promise.resolve(owner);
      const input = parsed(procedures.hooks.set.input, call.input);
      if ('error' in input) return Promise.resolve(input);
      const { url, createdAt } = state.setHook(owner.agentId, input.value.url, Date.now());
      return Promise.resolve({ data: { url, createdAt } });
    },
  },
  'hooks.get': {
    method: 'GET',
    answer: (state, call) => {
      const owner = mailboxOwner(state, call.authorization);
      if ('error' in owner) return Promise.resolve(owner);
      return Promise.resolve({ data: state.hook(owner.agentId) });
    },
  },
  'hooks.clear': {
    method: 'POST',
    answer: (state, call) => {
      const owner = mailboxOwner(state, call.authorization);
      if ('error' in owner) return Promise.resolve(owner);
      return Promise.resolve({ data: { cleared: state.clearHook(owner.agentId) } });
    },
  },
};

export function isCallPath(path: string): path is CallPath {
  return Object.hasOwn(honestProcedures, path);
}
