// Turns the mailbox scripts' replies into the store's types. A reply of another shape is a bug
// (scripts and parsers out of step), reported as a plain Error.
import {
  rotationStepSchema,
  type AgentRecord,
  type RotationStep,
  type StoredMessage,
} from '@deaddrop/contract';
import type {
  AppendStep,
  ClaimedPrekey,
  MailboxCounts,
  NonceOutcome,
  PublishPrekeysOutcome,
  RegisterOutcome,
  RotateOutcome,
  StoredHook,
  StoredPrekey,
} from '../mailbox-store.js';
import { messageTimes } from '../message-times.js';

function unexpected(script: string, reply: unknown): Error {
  return new Error(`unexpected reply from Redis script ${script}: ${JSON.stringify(reply)}`);
}

function asArray(value: unknown): readonly unknown[] | null {
  return Array.isArray(value) ? (value as unknown[]) : null;
}

function asString(value: unknown, script: string): string {
  if (typeof value !== 'string') throw unexpected(script, value);
  return value;
}

/** Integers arrive as numbers, or as decimal strings when they come from a hash field. */
function asInteger(value: unknown, script: string): number {
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number)) throw unexpected(script, value);
  return number;
}

export function parseAppendReply(reply: unknown, ttlSeconds: number): AppendStep {
  const [status, value, after, hooked] = asArray(reply) ?? [];
  switch (status) {
    case 'stored':
      if (hooked !== '1' && hooked !== '0') throw unexpected('append', reply);
      return {
        outcome: {
          status,
          ...messageTimes(asString(value, 'append'), ttlSeconds),
          hooked: hooked === '1',
        },
        after: asString(after, 'append'),
      };
    case 'duplicate':
      return { outcome: { status, ...messageTimes(asString(value, 'append'), ttlSeconds) } };
    case 'full':
      return { outcome: { status, count: asInteger(value, 'append') } };
    case 'rate-limited':
      if (value !== 'mailbox' && value !== 'sender') throw unexpected('append', reply);
      return { outcome: { status, limit: value, retryAfterMs: asInteger(after, 'append') } };
    case 'conflict':
    case 'no-mailbox':
      return { outcome: { status } };
    default:
      throw unexpected('append', reply);
  }
}

export function parseRegisterReply(reply: unknown, agentId: string): RegisterOutcome {
  const [status, agentKey, registeredAt] = asArray(reply) ?? [];
  const record: AgentRecord = {
    agentId,
    agentKey: asString(agentKey, 'register'),
    registeredAt: asInteger(registeredAt, 'register'),
  };
  switch (status) {
    case 'created':
    case 'existing':
    case 'conflict':
      return { status, record };
    default:
      throw unexpected('register', reply);
  }
}

export function parseNonceReply(reply: unknown): NonceOutcome {
  switch (reply) {
    case 'fresh':
    case 'replayed':
    case 'unknown-agent':
    case 'key-changed':
      return reply;
    default:
      throw unexpected('use-nonce', reply);
  }
}

export function parseRotateReply(reply: unknown): RotateOutcome {
  switch (reply) {
    case 'rotated':
    case 'no-agent':
    case 'key-mismatch':
      return reply;
    default:
      throw unexpected('rotate', reply);
  }
}

/** The history list's entries (JSON text each, see keys.ts), checked as the contract's steps. */
export function parseRotations(reply: unknown): RotationStep[] {
  const entries = asArray(reply);
  if (entries === null) throw unexpected('rotations', reply);
  return entries.map((entry) => {
    let json: unknown;
    try {
      json = JSON.parse(asString(entry, 'rotations'));
    } catch {
      throw unexpected('rotations', entry);
    }
    const step = rotationStepSchema.safeParse(json);
    if (!step.success) throw unexpected('rotations', entry);
    return step.data;
  });
}

/** XRANGE entries `[id, [field, value, ...]]`; the ciphertext is field `c`. */
export function parseEntries(reply: unknown, ttlSeconds: number): StoredMessage[] {
  const entries = asArray(reply);
  if (entries === null) throw unexpected('read', reply);
  return entries.map((entry) => {
    const [id, fields] = asArray(entry) ?? [];
    const values = asArray(fields) ?? [];
    const at = values.indexOf('c');
    if (at < 0 || at % 2 !== 0) throw unexpected('read', entry);
    return {
      ...messageTimes(asString(id, 'read'), ttlSeconds),
      ciphertext: asString(values[at + 1], 'read'),
    };
  });
}

export function parseCountsReply(reply: unknown): MailboxCounts {
  const [count, bytes, oldestId, newestId] = asArray(reply) ?? [];
  const oldest = asString(oldestId, 'counts');
  const newest = asString(newestId, 'counts');
  return {
    count: asInteger(count, 'counts'),
    bytes: asInteger(bytes, 'counts'),
    oldestId: oldest === '' ? null : oldest,
    newestId: newest === '' ? null : newest,
  };
}

/** A webhook hash as HGETALL lists it (`[field, value, …]`), or null when it is empty. */
export function parseHookReply(reply: unknown): StoredHook | null {
  const values = asArray(reply);
  if (values === null || values.length % 2 !== 0) throw unexpected('hook', reply);
  if (values.length === 0) return null;
  const fields = new Map<string, string>();
  for (let i = 0; i < values.length; i += 2)
    fields.set(asString(values[i], 'hook'), asString(values[i + 1], 'hook'));
  const field = (name: string): string => asString(fields.get(name), 'hook');
  const optionalInteger = (name: string): number | null =>
    field(name) === '' ? null : asInteger(field(name), 'hook');
  return {
    url: field('url'),
    secret: field('secret'),
    createdAt: asInteger(field('createdAt'), 'hook'),
    lastDeliveryAt: optionalInteger('lastDeliveryAt'),
    lastStatus: optionalInteger('lastStatus'),
    failures: asInteger(field('failures'), 'hook'),
    disabled: field('disabled') === '1',
  };
}

/** A prekey as the list holds it: `"<id> <key> <sig>"` (b64u has no spaces). */
export function formatPrekeyEntry(prekey: StoredPrekey): string {
  return `${prekey.id} ${prekey.key} ${prekey.sig}`;
}

function parsePrekeyEntry(entry: unknown): StoredPrekey {
  const [id, key, sig, extra] = asString(entry, 'claim-prekey').split(' ');
  if (id === undefined || key === undefined || sig === undefined || extra !== undefined) {
    throw unexpected('claim-prekey', entry);
  }
  return { id, key, sig };
}

export function parsePublishPrekeysReply(reply: unknown): PublishPrekeysOutcome {
  const [status, first, second] = asArray(reply) ?? [];
  switch (status) {
    case 'stored':
      return {
        status,
        stored: asInteger(first, 'publish-prekeys'),
        total: asInteger(second, 'publish-prekeys'),
      };
    case 'full':
      return { status, total: asInteger(first, 'publish-prekeys') };
    case 'duplicate':
      return { status, id: asString(first, 'publish-prekeys') };
    case 'no-agent':
    case 'key-changed':
      return { status };
    default:
      throw unexpected('publish-prekeys', reply);
  }
}

/** Null for `'no-agent'`: the store holds no such agent. */
export function parseClaimPrekeyReply(reply: unknown): ClaimedPrekey | null {
  if (reply === 'no-agent') return null;
  const [remaining, entry] = asArray(reply) ?? [];
  return {
    remaining: asInteger(remaining, 'claim-prekey'),
    prekey: entry === undefined ? null : parsePrekeyEntry(entry),
  };
}
