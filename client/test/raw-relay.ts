// A bare tRPC client for tests that must talk to the relay without the SDK's checks (replays,
// forged envelopes).
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AppRouter } from '@deaddrop/contract';
import superjson from 'superjson';

export function rawRelayClient(relayUrl: string) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${relayUrl}/trpc`, transformer: superjson })],
  });
}
