// Deliberately drifted routers for router.test-d.ts: the real router with one procedure changed.
import { z } from 'zod';
import type { RelayRouter } from './router.js';
import { t } from './trpc.js';

declare const real: RelayRouter;

export const brokenKind = t.router({
  ...real._def.record,
  stats: t.procedure.output(z.object({ count: z.number() })).mutation(() => ({ count: 0 })),
});

export const brokenOutput = t.router({
  ...real._def.record,
  delete: t.procedure
    .input(z.object({ ids: z.array(z.string()) }))
    .output(z.object({ removed: z.number() }))
    .mutation(() => ({ removed: 0 })),
});

export type BrokenKindRouter = typeof brokenKind;
export type BrokenOutputRouter = typeof brokenOutput;
