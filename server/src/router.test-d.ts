// Contract drift, proven by the type checker (`npm run typecheck`): the relay's router must be
// exactly the contract's AppRouter, in both directions, and a router with one procedure's kind or
// output changed must not be.
/* eslint-disable @typescript-eslint/no-unnecessary-type-parameters -- the Equal idiom needs its lone T */
import { expectTypeOf } from 'vitest';
import type { AppRouter } from '@deaddrop/contract';
import type { RelayRouter } from './router.js';
import type { BrokenKindRouter, BrokenOutputRouter } from './router-drift.fixture.js';

type Record_<R extends { _def: { record: unknown } }> = R['_def']['record'];
type RootTypes<R extends { _def: { _config: { $types: unknown } } }> =
  R['_def']['_config']['$types'];
/** Exact type identity (the compiler's own comparison of two deferred conditionals). */
type Equal<X, Y> =
  (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;

expectTypeOf<Record_<RelayRouter>>().toEqualTypeOf<Record_<AppRouter>>();
expectTypeOf<Record_<AppRouter>>().toEqualTypeOf<Record_<RelayRouter>>();
expectTypeOf<RootTypes<RelayRouter>>().toEqualTypeOf<RootTypes<AppRouter>>();
expectTypeOf<Equal<RelayRouter, AppRouter>>().toEqualTypeOf<true>();
expectTypeOf<Equal<AppRouter, RelayRouter>>().toEqualTypeOf<true>();

// If either expected error below disappeared, the drift check would be blind: tsc reports the
// unused directive and typecheck fails.
// @ts-expect-error `stats` turned from a query into a mutation
expectTypeOf<Record_<BrokenKindRouter>>().toEqualTypeOf<Record_<AppRouter>>();
// @ts-expect-error `delete` answers a different output
expectTypeOf<Record_<BrokenOutputRouter>>().toEqualTypeOf<Record_<AppRouter>>();
expectTypeOf<Equal<BrokenKindRouter, AppRouter>>().toEqualTypeOf<false>();
