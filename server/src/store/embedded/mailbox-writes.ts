// The body of each write request, run by the writer thread inside the group's transaction. Each
// body is what one immediate transaction did before group commit; they read the clock themselves
// so a request's "now" is when it runs.
import { ROTATIONS_MAX, type AgentRecord, type RotationStep } from '@deaddrop/contract';
import type Database from 'better-sqlite3';
import { MemoryBuckets } from '../../limits/token-bucket.js';
import type {
  AppendInput,
  AppendStep,
  HookDelivery,
  HookRecord,
  NonceOutcome,
  RegisterOutcome,
  RotateOutcome,
  StoreOptions,
  StoredHook,
} from '../mailbox-store.js';
import { messageTimes } from '../message-times.js';
import { formatId, oldestLiveMs } from './message-ids.js';
import { PrekeyWrites } from './prekey-writes.js';
import {
  hookFromRow,
  prepareWriteStatements,
  type Cursor,
  type WriteStatements,
} from './statements.js';
import type { WriteRequest, WriteResult } from './write-requests.js';

const RELAY_ID = 'relay-id';

export class MailboxWrites {
  private readonly sql: WriteStatements;
  private readonly ttlMs: number;
  // Per-mailbox rate limits: this thread is the only writer, so memory is where they belong.
  private readonly buckets = new MemoryBuckets();
  private readonly prekeys: PrekeyWrites;

  constructor(
    readonly db: Database.Database,
    private readonly options: StoreOptions,
  ) {
    this.sql = prepareWriteStatements(db);
    this.prekeys = new PrekeyWrites(db);
    this.ttlMs = options.ttlSeconds * 1000;
  }

  apply(request: WriteRequest): WriteResult {
    switch (request.kind) {
      case 'ensure-relay-id':
        return { kind: request.kind, value: this.ensureRelayId(request.candidate) };
      case 'register':
        return { kind: request.kind, value: this.register(request.record) };
      case 'rotate':
        return { kind: request.kind, value: this.rotate(request.agentId, request.step) };
      case 'append':
        return { kind: request.kind, value: this.append(request.input, Date.now()) };
      case 'trim-mailbox':
        return { kind: request.kind, value: this.trim(request.agentId, Date.now()) };
      case 'delete':
        return { kind: request.kind, value: this.delete(request.agentId, request.cursors) };
      case 'use-nonce':
        return {
          kind: request.kind,
          value: this.useNonce(
            request.agentId,
            request.nonce,
            request.agentKey,
            request.keepForMs,
            Date.now(),
          ),
        };
      case 'sweep':
        return { kind: request.kind, value: this.sweep(Date.now()) };
      case 'set-hook':
        return { kind: request.kind, value: this.setHook(request.agentId, request.hook) };
      case 'clear-hook':
        return {
          kind: request.kind,
          value: this.sql.deleteHook.run(request.agentId).changes === 1,
        };
      case 'hook-delivery':
        return {
          kind: request.kind,
          value: this.recordHookDelivery(request.agentId, request.delivery),
        };
      case 'publish-prekeys':
        return {
          kind: request.kind,
          value: this.prekeys.publish(
            request.agentId,
            request.prekeys,
            request.max,
            request.agentKey,
          ),
        };
      case 'claim-prekey':
        return { kind: request.kind, value: this.prekeys.claim(request.agentId) };
    }
  }

  private ensureRelayId(candidate: string): string {
    this.sql.insertMetaOnce.run(RELAY_ID, candidate);
    return this.sql.getMeta.get(RELAY_ID)?.value ?? candidate;
  }

  private register(record: AgentRecord): RegisterOutcome {
    const existing = this.sql.getAgent.get(record.agentId);
    if (existing === undefined) {
      this.sql.insertAgent.run(record.agentId, record.agentKey, record.registeredAt);
      return { status: 'created', record };
    }
    const stored = {
      agentId: record.agentId,
      agentKey: existing.agent_key,
      registeredAt: existing.registered_at,
    };
    return {
      status: stored.agentKey === record.agentKey ? 'existing' : 'conflict',
      record: stored,
    };
  }

  /** The compare-and-set of PROTOCOL §10, in the request's savepoint: all of it or nothing. */
  private rotate(agentId: string, step: RotationStep): RotateOutcome {
    const params = { agentId, ...step };
    if (this.sql.replaceAgentKey.run(params).changes === 0) {
      return this.sql.getAgent.get(agentId) === undefined ? 'no-agent' : 'key-mismatch';
    }
    this.sql.appendRotation.run(params);
    this.sql.trimRotations.run({ agentId, keep: ROTATIONS_MAX });
    // The old key signed the prekeys held: senders verify against the new one, so they go with it
    // (the agent publishes new ones).
    this.sql.deletePrekeys.run(agentId);
    return 'rotated';
  }

  private append(input: AppendInput, now: number): AppendStep {
    const agent = this.sql.getAgent.get(input.agentId);
    if (agent === undefined) return { outcome: { status: 'no-mailbox' } };

    const previous = this.sql.getIdempotency.get(input.agentId, input.idempotencyKey, now);
    if (previous !== undefined) {
      return {
        outcome:
          previous.hash === input.ciphertextHash
            ? { status: 'duplicate', ...messageTimes(previous.message_id, this.options.ttlSeconds) }
            : { status: 'conflict' },
      };
    }

    const count = agent.message_count - this.trim(input.agentId, now);
    const buckets =
      input.rate &&
      ([
        { limit: 'sender', key: `${input.agentId} ${input.rate.source}`, rate: input.rate.sender },
        { limit: 'mailbox', key: input.agentId, rate: input.rate.mailbox },
      ] as const);
    // The sender's own limit first: it is the one to report when both are spent.
    for (const { limit, key, rate } of buckets ?? []) {
      const retryAfterMs = this.buckets.check(key, rate, now);
      if (retryAfterMs > 0) return { outcome: { status: 'rate-limited', limit, retryAfterMs } };
    }
    if (count >= this.options.maxMessages) return { outcome: { status: 'full', count } };
    const newest = this.sql.newestId.get(input.agentId);

    // As Redis XADD `*` does: the clock's ms, or the last ms with the next sequence number when
    // the clock has not moved on (or went back).
    const id =
      now > agent.last_ms ? { ms: now, seq: 0 } : { ms: agent.last_ms, seq: agent.last_seq + 1 };
    const messageId = formatId(id);
    this.sql.insertMessage.run(input.agentId, id.ms, id.seq, input.bytes, input.ciphertext);
    this.sql.recordAppend.run(id.ms, id.seq, input.agentId);
    this.sql.putIdempotency.run(
      input.agentId,
      input.idempotencyKey,
      input.ciphertextHash,
      messageId,
      now + this.ttlMs,
    );
    // After the statements, which throw (and roll back) before a failed send could spend.
    for (const { key, rate } of buckets ?? []) this.buckets.spend(key, rate, now);
    const hooked = this.sql.hasActiveHook.get(input.agentId)?.hooked === 1;
    return {
      outcome: { status: 'stored', ...messageTimes(messageId, this.options.ttlSeconds), hooked },
      after: newest ? formatId(newest) : '0-0',
    };
  }

  private setHook(agentId: string, hook: HookRecord): boolean {
    if (this.sql.getAgent.get(agentId) === undefined) return false;
    this.sql.putHook.run(agentId, hook.url, hook.secret, hook.createdAt);
    return true;
  }

  private recordHookDelivery(agentId: string, delivery: HookDelivery): StoredHook | null {
    const changed = this.sql.recordHookAttempt.run({
      agentId,
      createdAt: delivery.createdAt,
      at: delivery.at,
      status: delivery.status,
      delivered: delivery.delivered ? 1 : 0,
      cap: delivery.failureCap,
    }).changes;
    if (changed === 0) return null;
    const row = this.sql.getHook.get(agentId);
    return row ? hookFromRow(row) : null;
  }

  // Inside the writer's transaction, so the directory check and the nonce are one atomic step.
  private useNonce(
    agentId: string,
    nonce: string,
    agentKey: string,
    keepForMs: number,
    now: number,
  ): NonceOutcome {
    const agent = this.sql.getAgent.get(agentId);
    if (agent === undefined) return 'unknown-agent';
    if (agent.agent_key !== agentKey) return 'key-changed';
    return this.sql.useNonce.run(agentId, nonce, now + keepForMs, now).changes === 1
      ? 'fresh'
      : 'replayed';
  }

  /** Removes the agent's expired messages; how many went. */
  private trim(agentId: string, now: number): number {
    const trimmed = this.sql.trimMailbox.run(agentId, oldestLiveMs(now, this.ttlMs)).changes;
    if (trimmed > 0) this.sql.uncountMessages.run(trimmed, agentId);
    return trimmed;
  }

  private delete(agentId: string, cursors: readonly Cursor[]): number {
    // Expired messages are gone already as far as callers can tell, so they do not count.
    this.trim(agentId, Date.now());
    let deleted = 0;
    for (const { ms, seq } of cursors)
      deleted += this.sql.deleteMessage.run(agentId, ms, seq).changes;
    if (deleted > 0) this.sql.uncountMessages.run(deleted, agentId);
    return deleted;
  }

  private sweep(now: number): number {
    this.sql.dropExpiredNonces.run(now);
    this.sql.dropExpiredIdempotency.run(now);
    const before = oldestLiveMs(now, this.ttlMs);
    this.sql.uncountExpired.run({ before });
    return this.sql.trimAll.run(before).changes;
  }
}
