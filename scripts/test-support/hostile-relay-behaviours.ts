// What a test can make the hostile relay do instead of answering honestly: the answer to a
// request/response call (wrong data, an error, silence, an endless trickle, raw bytes) and the
// script of an inbox SSE stream (events, raw bytes, pauses, then honest or silent or closed).
import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { ProcedurePath, Procedures } from '@deaddrop/contract';

/** The contract's definition at a dotted path (`'directory.lookup'` → its table entry). */
type DefinitionAt<P extends string, Tree = Procedures> = P extends `${infer Head}.${infer Rest}`
  ? Head extends keyof Tree
    ? DefinitionAt<Rest, Tree[Head]>
    : never
  : P extends keyof Tree
    ? Tree[P]
    : never;

/** Every request/response procedure (queries and mutations): all but the inbox subscription. */
export type CallPath = {
  [P in ProcedurePath]: DefinitionAt<P> extends { kind: 'subscription' } ? never : P;
}[ProcedurePath];

/** What the honest relay answers `path` with, per the contract's output schema. */
export type CallOutput<P extends CallPath> =
  DefinitionAt<P> extends { output: infer Schema extends z.ZodType } ? z.output<Schema> : never;

/**
 * A relay error as it goes on the wire: `code` is tRPC's key (`'NOT_FOUND'`), its JSON-RPC number
 * derived from it unless `jsonRpcCode` says otherwise (an unknown key gets -32603). Any strings are
 * allowed, so a test can send reasons and codes no honest relay would.
 */
export interface RelayErrorSpec {
  readonly code: string;
  readonly httpStatus: number;
  readonly reason: string;
  readonly message: string;
  /** Also sets a `Retry-After` header (whole seconds), as the real relay does. */
  readonly retryAfterMs?: number;
  readonly jsonRpcCode?: number;
}

/** The honest relay's answer to one call. */
export type HonestAnswer<T> = { readonly data: T } | { readonly error: RelayErrorSpec };

export interface TrickleOptions {
  /** Status line sent before the trickle starts (default 200). */
  readonly status?: number;
  /** Pause between chunks (default: the relay's `trickleIntervalMs`, 1 s unless configured). */
  readonly intervalMs?: number;
  /** What each tick writes (default one space: still a valid prefix of a JSON body). */
  readonly chunk?: string;
}

export interface RawAnswer {
  readonly status: number;
  /** Written as is, in chunks with backpressure, so a huge body is never copied whole. */
  readonly body: string | Buffer;
  /** Default `application/json`. */
  readonly contentType?: string;
  /**
   * Replace the default headers (content-type and a true content-length) entirely: leave out
   * content-length for a chunked body, or set one that lies.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One call's answer. `data` and `error` answer that call alone; `hang`, `trickle` and `raw` take
 * over the whole HTTP response, batch included (the first such answer in batch order wins).
 */
export type CallAnswer =
  | { readonly data: unknown }
  | { readonly error: RelayErrorSpec }
  | { readonly honest: true }
  /** No status line, no headers, nothing: the socket stays open until the client or close() ends it. */
  | { readonly hang: true }
  /** Status and headers, then a chunk every interval, never finishing (until close()). */
  | { readonly trickle: true | TrickleOptions }
  | { readonly raw: RawAnswer };

/** One request/response call as a behaviour sees it. */
export interface CallContext<P extends CallPath> {
  readonly path: P;
  /** The input as decoded from the wire (superjson), not validated: it may be anything. */
  readonly input: unknown;
  /** The agent the request's proof names (its signature is not checked), or null without one. */
  readonly agentId: string | null;
  /** Calls to this path before this one, any behaviour (0 for the first). */
  readonly count: number;
  readonly headers: IncomingHttpHeaders;
  /**
   * The honest answer, computed on first use only, with its effects (a send is stored, a poll
   * long-polls): a behaviour that never asks changes nothing in the relay's state.
   */
  honest(): Promise<HonestAnswer<CallOutput<P>>>;
}

export type CallBehaviour<P extends CallPath> = (
  call: CallContext<P>,
) => CallAnswer | Promise<CallAnswer>;

/** One step of a scripted SSE stream. */
export type SseStep =
  /**
   * `id: <id>` (by default the message's own `id` when it is a string; `null` for no id line)
   * then `data: <superjson of message>`, as the relay writes a stored message.
   */
  | { readonly message: unknown; readonly id?: string | null }
  /** `event: serialized-error` with the error's shape, as the relay reports a failed stream. */
  | { readonly error: RelayErrorSpec }
  | { readonly ping: true }
  /** Exactly these bytes: malformed events, bogus `retry:` lines, half an event. */
  | { readonly raw: string | Buffer }
  /** `chunk` written `times` times with backpressure: a huge event without a huge string. */
  | { readonly repeat: string; readonly times: number }
  | { readonly delayMs: number };

export interface InboxScript {
  /** Whether the relay's usual `retry:` line and `connected` event come first (default true). */
  readonly preamble?: boolean;
  readonly events: readonly SseStep[];
  /**
   * - `honest`: the real stream follows (backlog after the request's cursor, then live messages
   *   and pings); without a valid proof, a `serialized-error` event and the end.
   * - `hang`: the stream stays open, silent, no pings (until the client or close() ends it).
   * - `end`: the response ends cleanly.
   * - `destroy`: the socket is cut mid-stream.
   */
  readonly then: 'honest' | 'hang' | 'end' | 'destroy';
}

/** A refusal instead of a stream: this status and body. */
export interface InboxRefusal {
  readonly status: number;
  readonly body: string | Buffer;
  /** Default `application/json`. */
  readonly contentType?: string;
}

export type InboxAnswer = { readonly honest: true } | InboxScript | InboxRefusal;

/** One inbox subscription request as a behaviour sees it. */
export interface InboxRequest {
  /** The `input` query parameter as decoded (superjson), not validated; undefined when absent. */
  readonly input: unknown;
  /** From the `Last-Event-ID` header or the `lastEventId` query parameter, as sent. */
  readonly lastEventId: string | null;
  /** The agent the proof (header or `connectionParams`) names, signature unchecked, or null. */
  readonly agentId: string | null;
  /** Inbox requests before this one (0 for the first): reconnects count up. */
  readonly count: number;
  readonly headers: IncomingHttpHeaders;
}

export type InboxBehaviour = (request: InboxRequest) => InboxAnswer | Promise<InboxAnswer>;

/** A behaviour for any path: the inbox takes scripts, the others call answers. */
export type BehaviourFor<P extends ProcedurePath> = P extends CallPath
  ? CallBehaviour<P>
  : InboxBehaviour;

/** One call the relay received (each call of a batch on its own), for a test's assertions. */
export interface RecordedCall {
  /** As requested: unknown paths too. */
  readonly path: string;
  readonly method: string;
  readonly transport: 'http' | 'sse';
  /** Decoded from the wire (superjson), not validated; undefined when absent or undecodable. */
  readonly input: unknown;
  /** The agent the proof names (signature unchecked), or null. */
  readonly agentId: string | null;
  readonly headers: IncomingHttpHeaders;
  /** Calls carried by the same HTTP request: 1 alone (and for the inbox), more in a batch. */
  readonly batchSize: number;
  /** The inbox's `Last-Event-ID` (header or query), else null. */
  readonly lastEventId: string | null;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
}
