// Real tRPC clients for the live inbox: SSE through httpSubscriptionLink with the `eventsource`
// package (a fresh proof per connection attempt via its fetch option), WebSocket through wsLink
// with the `ws` package (a fresh proof per connection via connectionParams).
import {
  createTRPCClient,
  type TRPCClient,
  type TRPCWebSocketClient,
  createWSClient,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  wsLink,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import { WebSocket } from 'ws';
import type { AppRouter, StoredMessage } from '@deaddrop/contract';
import { authHeader, type Headers, type TestAgent } from './relay-harness.js';

export type Transport = 'sse' | 'ws';

export interface Received {
  readonly id: string;
  readonly message: StoredMessage;
}

export interface LiveSubscription {
  readonly received: Received[];
  readonly errors: unknown[];
  unsubscribe(): void;
  close(): Promise<void>;
}

export function sseClient(url: string, proof: () => Headers): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${url}/trpc`,
          transformer: superjson,
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init.headers, ...proof() } }),
          }),
        }),
        false: httpLink({ url: `${url}/trpc`, transformer: superjson }),
      }),
    ],
  });
}

export function wsClient(
  url: string,
  connectionParams: () => Headers,
  webSocketClass: new (url: string, protocols?: string | string[]) => WebSocket = WebSocket,
): { socket: TRPCWebSocketClient; client: TRPCClient<AppRouter> } {
  const socket = createWSClient({
    url: `${url.replace(/^http/, 'ws')}/trpc`,
    // `ws` implements the browser WebSocket API tRPC expects, under its own Node typings.
    WebSocket: webSocketClass as unknown as typeof globalThis.WebSocket,
    connectionParams,
    retryDelayMs: () => 100,
  });
  return {
    socket,
    client: createTRPCClient<AppRouter>({
      links: [wsLink({ client: socket, transformer: superjson })],
    }),
  };
}

export function subscribeInbox(
  transport: Transport,
  url: string,
  relayId: string,
  agent: TestAgent,
  input: { after?: string } = {},
): LiveSubscription {
  const received: Received[] = [];
  const errors: unknown[] = [];
  const handlers = {
    onData: (event: { id: string; data: StoredMessage }) => {
      received.push({ id: event.id, message: event.data });
    },
    onError: (error: unknown) => {
      errors.push(error);
    },
  };
  if (transport === 'sse') {
    const client = sseClient(url, () => authHeader(relayId, agent, 'inbox'));
    const subscription = client.inbox.subscribe(input, handlers);
    return {
      received,
      errors,
      unsubscribe: () => {
        subscription.unsubscribe();
      },
      close: () => {
        subscription.unsubscribe();
        return Promise.resolve();
      },
    };
  }
  const { socket, client } = wsClient(url, () => authHeader(relayId, agent, 'ws'));
  const subscription = client.inbox.subscribe(input, handlers);
  return {
    received,
    errors,
    unsubscribe: () => {
      subscription.unsubscribe();
    },
    close: async () => {
      subscription.unsubscribe();
      await socket.close();
    },
  };
}

/** Resolves once `check` holds, polling; fails after `timeoutMs` with what was last seen. */
export async function eventually(
  check: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
