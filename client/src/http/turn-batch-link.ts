// Batching without the wait: httpBatchLink collects calls for a timer tick (≥ 1 ms in Node, more on
// a busy machine) before sending anything, which every lone call pays. This link groups the calls
// made in one synchronous turn (until the next microtask): a lone call goes straight out through
// `single`, a group goes to `batch` together, which sends it as one request.
import type { AnyRouter } from '@trpc/server';
import { observable, type Unsubscribable } from '@trpc/server/observable';
import type { TRPCLink } from '@trpc/client';

interface Turn {
  readonly starts: ((batched: boolean) => void)[];
}

export function turnBatchLink<TRouter extends AnyRouter>(links: {
  readonly single: TRPCLink<TRouter>;
  readonly batch: TRPCLink<TRouter>;
}): TRPCLink<TRouter> {
  return (runtime) => {
    const single = links.single(runtime);
    const batch = links.batch(runtime);
    let turn: Turn | undefined;
    const currentTurn = (): Turn => {
      if (turn !== undefined) return turn;
      const opened: Turn = { starts: [] };
      turn = opened;
      queueMicrotask(() => {
        turn = undefined;
        const batched = opened.starts.length > 1;
        for (const start of opened.starts) start(batched);
      });
      return opened;
    };
    return ({ op, next }) =>
      observable((observer) => {
        let subscription: Unsubscribable | undefined;
        let cancelled = false;
        currentTurn().starts.push((batched) => {
          if (cancelled) return;
          subscription = (batched ? batch : single)({ op, next }).subscribe(observer);
        });
        return () => {
          cancelled = true;
          subscription?.unsubscribe();
        };
      });
  };
}
