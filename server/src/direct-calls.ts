// The router's queries and mutations as one plain async call each, for the relay's own HTTP
// handlers (the procedure lane, the plain API): the steps of the router's middlewares in the same
// order, from the same functions (procedure-steps.ts), the same contract schemas parsed and the
// same failures raised as tRPC's input and output validators raise them, and the same resolvers
// (procedure-resolvers.ts). What it leaves out is tRPC's machinery per call — a merged options
// object and a promise for each middleware layer, seven layers deep — which a send profile under
// load put at about a quarter of the relay's CPU per message. server/test/procedure-lane.test.ts
// and server/test/direct-calls.test.ts prove its answers equal to tRPC's own.
import { TRPCError, getTRPCErrorFromUnknown } from '@trpc/server';
import type { RequestContext } from '@deaddrop/contract';
import type { ErasedResolver, RelayResolvers } from './procedure-resolvers.js';
import type { ProcedureSteps } from './procedure-steps.js';

export interface DirectCall {
  readonly path: string;
  readonly type: 'query' | 'mutation';
  readonly ctx: RequestContext;
  /** The call's raw input, read only when the procedure takes one (as tRPC reads it). */
  readonly rawInput: () => Promise<unknown>;
  readonly signal: AbortSignal | undefined;
}

/** Runs one call: its output, or a TRPCError as tRPC's `callTRPCProcedure` would throw it. */
export type DirectCaller = (call: DirectCall) => Promise<unknown>;

export function createDirectCaller(steps: ProcedureSteps, resolvers: RelayResolvers): DirectCaller {
  const byPath: ReadonlyMap<string, ErasedResolver> = new Map(Object.entries(resolvers));

  const run = async (resolver: ErasedResolver, call: DirectCall): Promise<unknown> => {
    const { definition } = resolver;
    await steps.guard(call.ctx, call.path);
    const ctx =
      definition.auth === 'mailbox' ? { ...call.ctx, ...(await steps.prove(call.ctx)) } : call.ctx;
    let input: unknown;
    if (definition.input !== undefined) {
      const raw = await call.rawInput();
      try {
        input = definition.input.parse(raw);
      } catch (cause) {
        throw new TRPCError({ code: 'BAD_REQUEST', cause });
      }
    }
    const data = await resolver.runChecked(ctx, input, call.signal);
    try {
      return definition.output.parse(data);
    } catch (cause) {
      throw new TRPCError({
        message: 'Output validation failed',
        code: 'INTERNAL_SERVER_ERROR',
        cause,
      });
    }
  };

  return async (call) => {
    const resolver = byPath.get(call.path);
    // As callTRPCProcedure: an unknown path, or one of the other kind, is not found — unmeasured.
    if (resolver === undefined || resolver.definition.kind !== call.type)
      throw new TRPCError({
        code: 'NOT_FOUND',
        message: `No "${call.type}"-procedure on path "${call.path}"`,
      });
    const started = performance.now();
    try {
      const data = await run(resolver, call);
      steps.measured(call.path, started, 'OK');
      return data;
    } catch (cause) {
      const error = steps.storeOutage(getTRPCErrorFromUnknown(cause));
      steps.measured(call.path, started, error.code);
      throw error;
    }
  };
}
