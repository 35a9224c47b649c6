// The messages between the embedded store and its writer thread. Structured clone drops classes
// and custom fields, so everything here is plain data, and each side narrows what it receives
// from `unknown` before trusting it.
import { MessagePort } from 'node:worker_threads';
import { z } from 'zod';
import type { AgentRecord, RotationStep } from '@deaddrop/contract';
import type {
  AppendInput,
  AppendStep,
  ClaimedPrekey,
  HookDelivery,
  HookRecord,
  PublishPrekeysOutcome,
  NonceOutcome,
  RegisterOutcome,
  RotateOutcome,
  StoreOptions,
  StoredHook,
  StoredPrekey,
} from '../mailbox-store.js';
import type { Cursor } from './statements.js';
import type { StartupSignal } from './writer-startup.js';

/** What each kind of write request needs. */
export interface WriteParams {
  readonly 'ensure-relay-id': { readonly candidate: string };
  readonly register: { readonly record: AgentRecord };
  readonly rotate: { readonly agentId: string; readonly step: RotationStep };
  readonly append: { readonly input: AppendInput };
  /** Drops a mailbox's expired messages (what `counts` does before counting). */
  readonly 'trim-mailbox': { readonly agentId: string };
  readonly delete: { readonly agentId: string; readonly cursors: readonly Cursor[] };
  readonly 'use-nonce': {
    readonly agentId: string;
    readonly nonce: string;
    /** The key the proof was verified with: nothing is recorded unless the directory holds it. */
    readonly agentKey: string;
    /** From when the writer runs the request, by its clock (one process: the relay's own). */
    readonly keepForMs: number;
  };
  /** Nothing beyond its kind. */
  readonly sweep: object;
  readonly 'set-hook': { readonly agentId: string; readonly hook: HookRecord };
  readonly 'clear-hook': { readonly agentId: string };
  readonly 'hook-delivery': { readonly agentId: string; readonly delivery: HookDelivery };
  readonly 'publish-prekeys': {
    readonly agentId: string;
    readonly prekeys: readonly StoredPrekey[];
    readonly max: number;
    readonly agentKey: string;
  };
  readonly 'claim-prekey': { readonly agentId: string };
}

/** What each kind of write request answers. */
export interface WriteResults {
  readonly 'ensure-relay-id': string;
  readonly register: RegisterOutcome;
  readonly rotate: RotateOutcome;
  readonly append: AppendStep;
  readonly 'trim-mailbox': number;
  readonly delete: number;
  readonly 'use-nonce': NonceOutcome;
  readonly sweep: number;
  readonly 'set-hook': boolean;
  readonly 'clear-hook': boolean;
  readonly 'hook-delivery': StoredHook | null;
  readonly 'publish-prekeys': PublishPrekeysOutcome;
  readonly 'claim-prekey': ClaimedPrekey | null;
}

export type WriteKind = keyof WriteParams & keyof WriteResults;

export type WriteRequestOf<K extends WriteKind> = { readonly kind: K } & WriteParams[K];
export type WriteRequest = { [K in WriteKind]: WriteRequestOf<K> }[WriteKind];

export type WriteResultOf<K extends WriteKind> = {
  readonly kind: K;
  readonly value: WriteResults[K];
};
export type WriteResult = { [K in WriteKind]: WriteResultOf<K> }[WriteKind];

/** An Error reduced to what survives structured clone and what callers look at. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  /** SQLite's error code (`SQLITE_BUSY`, …) when there is one. */
  readonly code: string | undefined;
}

export type WriteReply =
  | { readonly id: number; readonly ok: true; readonly result: WriteResult }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError };

/** One write request on its way to the writer thread; `id` pairs it with its reply. */
export interface WriteMessage {
  readonly type: 'write';
  readonly id: number;
  readonly request: WriteRequest;
}

export type ToWriter =
  | WriteMessage
  /** Sent once, after the last write: the writer answers what it holds, then closes. */
  | { readonly type: 'close' };

/** One group's replies; `committed` is false when its transaction as a whole failed. */
export interface GroupAnswer {
  readonly type: 'group';
  readonly committed: boolean;
  readonly replies: readonly WriteReply[];
}

export type FromWriter =
  | GroupAnswer
  /** The writer's connection is closed; nothing follows. */
  | { readonly type: 'closed' };

/** What the writer thread is started with. */
export interface WriterData {
  readonly dataDir: string;
  readonly options: StoreOptions;
  readonly startup: StartupSignal;
}

const WRITE_KINDS = [
  'ensure-relay-id',
  'register',
  'rotate',
  'append',
  'trim-mailbox',
  'delete',
  'use-nonce',
  'sweep',
  'set-hook',
  'clear-hook',
  'hook-delivery',
  'publish-prekeys',
  'claim-prekey',
] as const satisfies readonly WriteKind[];

// Schemas of what crosses between the threads: each side narrows what it receives with them.
const bucketRate = z.object({ capacity: z.number(), perMs: z.number() });
const appendInput = z.object({
  agentId: z.string(),
  ciphertext: z.string(),
  bytes: z.number(),
  idempotencyKey: z.string(),
  ciphertextHash: z.string(),
  rate: z.object({ source: z.string(), mailbox: bucketRate, sender: bucketRate }).optional(),
});
const cursor = z.object({ ms: z.bigint(), seq: z.bigint() });

const writeRequest = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ensure-relay-id'), candidate: z.string() }),
  z.object({
    kind: z.literal('register'),
    record: z.object({ agentId: z.string(), agentKey: z.string(), registeredAt: z.number() }),
  }),
  z.object({
    kind: z.literal('rotate'),
    agentId: z.string(),
    step: z.object({
      oldKey: z.string(),
      newKey: z.string(),
      ts: z.number(),
      sigOld: z.string(),
      sigNew: z.string(),
    }),
  }),
  z.object({ kind: z.literal('append'), input: appendInput }),
  z.object({ kind: z.literal('trim-mailbox'), agentId: z.string() }),
  z.object({ kind: z.literal('delete'), agentId: z.string(), cursors: z.array(cursor) }),
  z.object({
    kind: z.literal('use-nonce'),
    agentId: z.string(),
    nonce: z.string(),
    agentKey: z.string(),
    keepForMs: z.number(),
  }),
  z.object({ kind: z.literal('sweep') }),
  z.object({
    kind: z.literal('set-hook'),
    agentId: z.string(),
    hook: z.object({ url: z.string(), secret: z.string(), createdAt: z.number() }),
  }),
  z.object({ kind: z.literal('clear-hook'), agentId: z.string() }),
  z.object({
    kind: z.literal('hook-delivery'),
    agentId: z.string(),
    delivery: z.object({
      createdAt: z.number(),
      at: z.number(),
      status: z.number().nullable(),
      delivered: z.boolean(),
      failureCap: z.number(),
    }),
  }),
  z.object({
    kind: z.literal('publish-prekeys'),
    agentId: z.string(),
    prekeys: z.array(z.object({ id: z.string(), key: z.string(), sig: z.string() })),
    max: z.number(),
    agentKey: z.string(),
  }),
  z.object({ kind: z.literal('claim-prekey'), agentId: z.string() }),
]);

const toWriter = z.discriminatedUnion('type', [
  z.object({ type: z.literal('write'), id: z.number(), request: writeRequest }),
  z.object({ type: z.literal('close') }),
]);

const serializedError = z.object({
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
});

// A result's value is checked no further than its kind: it comes from the writer module built
// from this same source, and the kind is what ties an answer to its request.
const writeReply = z.union([
  z.object({
    id: z.number(),
    ok: z.literal(true),
    result: z.object({ kind: z.enum(WRITE_KINDS), value: z.unknown() }),
  }),
  z.object({ id: z.number(), ok: z.literal(false), error: serializedError }),
]);

const fromWriter = z.discriminatedUnion('type', [
  z.object({ type: z.literal('group'), committed: z.boolean(), replies: z.array(writeReply) }),
  z.object({ type: z.literal('closed') }),
]);

const writerData = z.object({
  dataDir: z.string(),
  options: z.object({ ttlSeconds: z.number(), maxMessages: z.number() }),
  startup: z.object({ state: z.instanceof(Int32Array), errors: z.instanceof(MessagePort) }),
});

export function isToWriter(value: unknown): value is ToWriter {
  return toWriter.safeParse(value).success;
}

export function isSerializedError(value: unknown): value is SerializedError {
  return serializedError.safeParse(value).success;
}

export function isFromWriter(value: unknown): value is FromWriter {
  return fromWriter.safeParse(value).success;
}

export function isWriterData(value: unknown): value is WriterData {
  return writerData.safeParse(value).success;
}

/** Narrows a result to the kind its request asked for. */
export function isResultOf<K extends WriteKind>(
  result: WriteResult,
  kind: K,
): result is WriteResult & WriteResultOf<K> {
  return result.kind === kind;
}
