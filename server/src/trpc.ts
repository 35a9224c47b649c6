// The relay's tRPC instance: superjson on the wire (PROTOCOL §3), the error formatter, and the
// procedure bases every handler starts from.
import { initTRPC } from '@trpc/server';
import superjson from 'superjson';
import type { RequestContext } from '@deaddrop/contract';
import { formatRelayError } from './relay-error.js';

export const t = initTRPC.context<RequestContext>().create({
  transformer: superjson,
  isDev: false,
  errorFormatter: ({ error, shape }) => formatRelayError({ error, shape }),
  // No `sse` options: subscriptions never stream from tRPC's HTTP adapter; the relay's own writer
  // (live/sse-inbox.ts, live/sse-frames.ts) serves them, with its own pings and advice.
});
