// The messages between the embedded store and its writer thread. Structured clone drops classes
// and custom fields, so everything here is plain data, and each side narrows what it receives
// from `unknown` before trusting it.
import { MessagePort } from 'node:worker_threads';
import type { AgentRecord } from '@deaddrop/contract';
import type { BucketRate } from '../../limits/token-bucket.js';
import type {
  AppendInput,
  AppendRate,
  AppendStep,
  RegisterOutcome,
  StoreOptions,
} from '../mailbox-store.js';
import type { Cursor } from './statements.js';
import type { StartupSignal } from './writer-startup.js';

/** What each kind of write request needs. */
export interface WriteParams {
  readonly 'ensure-relay-id': { readonly candidate: string };
  readonly register: { readonly record: AgentRecord };
  readonly append: { readonly input: AppendInput };
  /** Drops a mailbox's expired messages (what `counts` does before counting). */
  readonly 'trim-mailbox': { readonly agentId: string };
  readonly delete: { readonly agentId: string; readonly cursors: readonly Cursor[] };
  readonly 'use-nonce': {
    readonly agentId: string;
    readonly nonce: string;
    /** From when the writer runs the request, by its clock (one process: the relay's own). */
    readonly keepForMs: number;
  };
  /** Nothing beyond its kind. */
  readonly sweep: object;
}

/** What each kind of write request answers. */
export interface WriteResults {
  readonly 'ensure-relay-id': string;
  readonly register: RegisterOutcome;
  readonly append: AppendStep;
  readonly 'trim-mailbox': number;
  readonly delete: number;
  readonly 'use-nonce': boolean;
  readonly sweep: number;
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

const WRITE_KINDS: ReadonlySet<string> = new Set<WriteKind>([
  'ensure-relay-id',
  'register',
  'append',
  'trim-mailbox',
  'delete',
  'use-nonce',
  'sweep',
]);

type Fields = Readonly<Record<string, unknown>>;

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null;
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number';
}

function isAgentRecord(value: unknown): value is AgentRecord {
  return (
    isFields(value) &&
    isString(value.agentId) &&
    isString(value.agentKey) &&
    isNumber(value.registeredAt)
  );
}

function isAppendInput(value: unknown): value is AppendInput {
  return (
    isFields(value) &&
    isString(value.agentId) &&
    isString(value.ciphertext) &&
    isNumber(value.bytes) &&
    isString(value.idempotencyKey) &&
    isString(value.ciphertextHash) &&
    (value.rate === undefined || isAppendRate(value.rate))
  );
}

function isBucketRate(value: unknown): value is BucketRate {
  return isFields(value) && isNumber(value.capacity) && isNumber(value.perMs);
}

function isAppendRate(value: unknown): value is AppendRate {
  return (
    isFields(value) &&
    isString(value.source) &&
    isBucketRate(value.mailbox) &&
    isBucketRate(value.sender)
  );
}

function isCursor(value: unknown): value is Cursor {
  return isFields(value) && typeof value.ms === 'bigint' && typeof value.seq === 'bigint';
}

export function isWriteRequest(value: unknown): value is WriteRequest {
  if (!isFields(value)) return false;
  switch (value.kind) {
    case 'ensure-relay-id':
      return isString(value.candidate);
    case 'register':
      return isAgentRecord(value.record);
    case 'append':
      return isAppendInput(value.input);
    case 'trim-mailbox':
      return isString(value.agentId);
    case 'delete':
      return (
        isString(value.agentId) && Array.isArray(value.cursors) && value.cursors.every(isCursor)
      );
    case 'use-nonce':
      return isString(value.agentId) && isString(value.nonce) && isNumber(value.keepForMs);
    case 'sweep':
      return true;
    default:
      return false;
  }
}

export function isToWriter(value: unknown): value is ToWriter {
  if (!isFields(value)) return false;
  if (value.type === 'close') return true;
  return value.type === 'write' && isNumber(value.id) && isWriteRequest(value.request);
}

export function isSerializedError(value: unknown): value is SerializedError {
  return (
    isFields(value) &&
    isString(value.name) &&
    isString(value.message) &&
    (value.code === undefined || isString(value.code))
  );
}

// A result's value is checked no further than its kind: it comes from the writer module built
// from this same source, and the kind is what ties an answer to its request.
function isWriteReply(value: unknown): value is WriteReply {
  if (!isFields(value) || !isNumber(value.id)) return false;
  if (value.ok === false) return isSerializedError(value.error);
  const result = value.result;
  return (
    value.ok === true &&
    isFields(result) &&
    WRITE_KINDS.has(String(result.kind)) &&
    'value' in result
  );
}

export function isFromWriter(value: unknown): value is FromWriter {
  if (!isFields(value)) return false;
  if (value.type === 'closed') return true;
  return (
    value.type === 'group' &&
    typeof value.committed === 'boolean' &&
    Array.isArray(value.replies) &&
    value.replies.every(isWriteReply)
  );
}

export function isWriterData(value: unknown): value is WriterData {
  return (
    isFields(value) &&
    isString(value.dataDir) &&
    isFields(value.options) &&
    isNumber(value.options.ttlSeconds) &&
    isNumber(value.options.maxMessages) &&
    isFields(value.startup) &&
    value.startup.state instanceof Int32Array &&
    value.startup.errors instanceof MessagePort
  );
}

/** Narrows a result to the kind its request asked for. */
export function isResultOf<K extends WriteKind>(
  result: WriteResult,
  kind: K,
): result is WriteResult & WriteResultOf<K> {
  return result.kind === kind;
}
