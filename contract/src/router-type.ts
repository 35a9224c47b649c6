// `AppRouter`, computed from the procedure table with tRPC's public types alone, so clients get a
// fully typed tRPC client without importing (or bundling) the relay. A type test in server/ proves
// the relay's real router is exactly this type.
/* eslint-disable @typescript-eslint/no-invalid-void-type -- tRPC types a procedure without input as taking `void` */
import type {
  TRPCBuiltRouter,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
  TRPCSubscriptionProcedure,
} from '@trpc/server';
import type { z } from 'zod';
import type { RelayErrorShape } from './errors.js';
import type { ProcedureDefinition, ProcedureTree, Procedures } from './procedures.js';

/** What the transport hands every procedure: request facts only, never services or secrets. */
export interface RequestContext {
  /** The `authorization` header or `connectionParams.authorization`. */
  readonly authorization: string | undefined;
  /** The `x-deaddrop-api-key` header or `connectionParams.apiKey`. */
  readonly apiKey: string | undefined;
  /** Procedure paths of this HTTP request (a batch has several), for proof scopes. */
  readonly paths: readonly string[];
  /** `http` for queries and mutations, `sse` or `ws` for subscriptions. */
  readonly transport: 'http' | 'sse' | 'ws';
  /** The client's address as rate limits count it (see the relay's TRUST_PROXY_HOPS). */
  readonly clientIp: string;
}

export interface RelayRootTypes {
  ctx: RequestContext;
  meta: object;
  errorShape: RelayErrorShape;
  transformer: true;
}

// tRPC types a procedure without input as taking `void`.
type InputOf<D extends ProcedureDefinition> = D['input'] extends z.ZodType
  ? z.input<D['input']>
  : void;
type OutputOf<D extends ProcedureDefinition> = z.output<D['output']>;

interface ProcedureTypes<D extends ProcedureDefinition, TOutput> {
  input: InputOf<D>;
  output: TOutput;
  meta: object;
  errorShape: RelayErrorShape;
}

/** tRPC's view of a subscription yielding `tracked(id, item)`. */
export type TrackedStream<T> = AsyncIterable<{ id: string; data: T }, void, unknown>;

type ProcedureFor<D extends ProcedureDefinition> = D['kind'] extends 'query'
  ? TRPCQueryProcedure<ProcedureTypes<D, OutputOf<D>>>
  : D['kind'] extends 'mutation'
    ? TRPCMutationProcedure<ProcedureTypes<D, OutputOf<D>>>
    : TRPCSubscriptionProcedure<ProcedureTypes<D, TrackedStream<OutputOf<D>>>>;

export type RouterRecordFor<T extends ProcedureTree> = {
  -readonly [K in keyof T]: T[K] extends ProcedureDefinition
    ? ProcedureFor<T[K]>
    : T[K] extends ProcedureTree
      ? RouterRecordFor<T[K]>
      : never;
};

export type AppRouter = TRPCBuiltRouter<RelayRootTypes, RouterRecordFor<Procedures>>;
