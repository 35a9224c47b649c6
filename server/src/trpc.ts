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
  sse: {
    // Pings keep idle streams alive through proxies; a client that hears nothing for longer than
    // reconnectAfterInactivityMs reconnects (with a fresh proof) and resumes from lastEventId.
    ping: { enabled: true, intervalMs: 15_000 },
    client: { reconnectAfterInactivityMs: 40_000 },
  },
});
