// One live connection to a relay's `inbox` subscription, over SSE or a WebSocket, carrying a freshly
// signed mailbox proof on every physical connection attempt (PROTOCOL §3 "Mailbox auth").
import {
  TRPCClientError,
  createTRPCClient,
  createWSClient,
  httpSubscriptionLink,
  wsLink,
} from '@trpc/client';
import {
  SCOPE_SSE_INBOX,
  SCOPE_WEBSOCKET,
  createProof,
  encodeAuthorization,
  type AppRouter,
} from '@deaddrop/contract';
import { EventSource, type FetchLike } from 'eventsource';
import superjson from 'superjson';
import WebSocket from 'ws';
import { DeadDropError } from '../errors.js';
import { toDeadDropError } from '../relay-error.js';
import { trpcEndpoint, wsEndpoint } from '../relay-url.js';
import type { ProofSigner, RelayClient } from '../transport.js';
import { eventLimitsFor, guardEventStreamResponse } from './event-stream-guard.js';

export type LiveTransport = 'sse' | 'ws';

/**
 * Where an SSE subscription carries its proof: the `authorization` header (fresh on every attempt,
 * automatic reconnects included), or tRPC's `connectionParams` in the URL, as clients that cannot
 * set headers do. An EventSource reconnects to the same URL, so in that mode a reconnect repeats a
 * used proof, is refused, and the subscription has to be restarted with a new one.
 */
export type SseAuthPlacement = 'header' | 'connectionParams';

export interface LiveConnectionOptions {
  /** The relay's base URL. */
  readonly relayUrl: string;
  readonly apiKey?: string | undefined;
  readonly signer: ProofSigner;
  /** The relay id proofs are bound to. */
  readonly relayId: () => Promise<string>;
  readonly transport: LiveTransport;
  /** SSE only; a WebSocket always proves itself in `connectionParams`. */
  readonly authIn?: SseAuthPlacement | undefined;
  /** The relay's message limit (`info`): bounds what one event or frame may hold. */
  readonly maxMessageBytes: number;
  /** SSE: how long the stream may be silent before it is reconnected (default 120 s). */
  readonly maxIdleMs?: number | undefined;
  readonly fetch?: typeof fetch;
}

export interface LiveConnection {
  readonly relay: RelayClient;
  /**
   * Whether the latest attempt re-sent a proof an earlier attempt had used. Its refusal says
   * nothing about the proof itself: a new connection with a fresh proof may well succeed.
   */
  readonly reusedProof: boolean;
  /** Why the relay answered the latest SSE attempt with an HTTP error, read from the answer. */
  readonly refusal: DeadDropError | undefined;
  /**
   * Called when the relay breaks the protocol on this connection in a way a reconnect would only
   * repeat (an event past the size bound): the subscription should end with this error.
   */
  onViolation(listener: (error: DeadDropError) => void): void;
  close(): void;
}

/** The largest refusal body read for its reason; the rest is not the relay's to make us hold. */
const MAX_REFUSAL_BYTES = 64 * 1024;

/** Reports violations to whoever listens, once, including one that came before the listener. */
function violationReporter() {
  let violation: DeadDropError | undefined;
  const listeners: ((error: DeadDropError) => void)[] = [];
  return {
    report: (error: DeadDropError): void => {
      if (violation !== undefined) return;
      violation = error;
      for (const listener of listeners) listener(error);
    },
    listen: (listener: (error: DeadDropError) => void): void => {
      if (violation !== undefined) listener(violation);
      else listeners.push(listener);
    },
  };
}

/**
 * Delay before a WebSocket's n-th reconnect attempt in a row. Never none: tRPC starts again at
 * attempt 0 whenever the relay sends its reconnect notice, which a hostile relay could send on
 * every connection; the jitter spreads a herd reconnecting after a relay's shutdown notice.
 */
function wsRetryDelayMs(attempt: number, random: () => number = Math.random): number {
  return attempt === 0 ? 500 + Math.floor(random() * 500) : Math.min(250 * 2 ** attempt, 10_000);
}

export function openLiveConnection(options: LiveConnectionOptions): LiveConnection {
  return options.transport === 'ws' ? openWebSocket(options) : openEventSource(options);
}

function proofSigner(options: LiveConnectionOptions): (scope: string) => Promise<string> {
  return async (scope) =>
    encodeAuthorization(
      createProof({
        relayId: await options.relayId(),
        agentId: options.signer.agentId,
        keys: options.signer.keys,
        scope,
      }),
    );
}

function openEventSource(options: LiveConnectionOptions): LiveConnection {
  const sign = proofSigner(options);
  const byHeader = (options.authIn ?? 'header') === 'header';
  const fetchImpl = options.fetch ?? fetch;
  // Each URL carries its own connectionParams proof: seeing one again means the proof is reused.
  const attemptedUrls = new Set<string>();
  let reusedProof = false;
  let refusal: DeadDropError | undefined;
  const violations = violationReporter();
  const limits = eventLimitsFor(options.maxMessageBytes, options.maxIdleMs);

  // eventsource calls this for every attempt, its own reconnects (with Last-Event-ID) included.
  const fetchAttempt: FetchLike = async (url, init) => {
    const headers: Record<string, string> = { ...init.headers };
    if (byHeader) {
      headers.authorization = await sign(SCOPE_SSE_INBOX);
      if (options.apiKey !== undefined) headers['x-deaddrop-api-key'] = options.apiKey;
    } else {
      reusedProof = attemptedUrls.has(String(url));
      attemptedUrls.add(String(url));
    }
    const response = await fetchImpl(url, { ...(init as RequestInit), headers });
    refusal = response.ok ? undefined : await refusalOf(response, options.relayUrl);
    return guardEventStreamResponse(response, limits, violations.report);
  };

  const relay = createTRPCClient<AppRouter>({
    links: [
      httpSubscriptionLink({
        url: trpcEndpoint(options.relayUrl),
        transformer: superjson,
        EventSource,
        eventSourceOptions: () => ({ fetch: fetchAttempt }),
        ...(byHeader
          ? {}
          : {
              connectionParams: async () => ({
                authorization: await sign(SCOPE_SSE_INBOX),
                ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
              }),
            }),
      }),
    ],
  });
  return {
    relay,
    get reusedProof() {
      return reusedProof;
    },
    get refusal() {
      return refusal;
    },
    onViolation: violations.listen,
    close: () => undefined,
  };
}

/** `ws`'s WebSocket with a bound on incoming frames (its default is 100 MiB). */
function boundedWebSocket(maxPayload: number): unknown {
  return class BoundedWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { maxPayload });
    }
  };
}

function openWebSocket(options: LiveConnectionOptions): LiveConnection {
  const sign = proofSigner(options);
  const client = createWSClient({
    url: wsEndpoint(options.relayUrl),
    // A frame past the bound closes the socket (1009); the link then reconnects.
    WebSocket: boundedWebSocket(
      eventLimitsFor(options.maxMessageBytes).maxEventChars,
    ) as NonNullable<Parameters<typeof createWSClient>[0]['WebSocket']>,
    // Evaluated once per connection, so every reconnect (after a drop, or the relay's max-age
    // close) proves itself afresh.
    connectionParams: async () => ({
      authorization: await sign(SCOPE_WEBSOCKET),
      ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    }),
    retryDelayMs: wsRetryDelayMs,
    keepAlive: { enabled: true, intervalMs: 10_000, pongTimeoutMs: 5_000 },
  });
  const relay = createTRPCClient<AppRouter>({
    links: [wsLink({ client, transformer: superjson })],
  });
  return {
    relay,
    reusedProof: false,
    refusal: undefined,
    onViolation: () => undefined,
    close: () => {
      client.close().catch(() => undefined);
    },
  };
}

/** The relay's reason from a refused SSE request (a tRPC error shape under superjson), if any. */
async function refusalOf(response: Response, relayUrl: string): Promise<DeadDropError> {
  const httpStatus = response.status;
  try {
    const body = JSON.parse(await boundedText(response, MAX_REFUSAL_BYTES)) as { error?: unknown };
    const shape = superjson.deserialize(body.error as Parameters<typeof superjson.deserialize>[0]);
    const error = toDeadDropError(TRPCClientError.from({ error: shape }), relayUrl);
    if (error.reason !== 'RELAY_INVALID_RESPONSE') return error;
  } catch {
    // Not a relay's answer: a proxy page, say.
  }
  return new DeadDropError(
    'RELAY_ERROR',
    `the relay at ${relayUrl} refused the live inbox with HTTP ${httpStatus}`,
    { httpStatus },
  );
}

/** The body's text if it is at most `maxBytes`; else throws, having read no more than that. */
async function boundedText(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      const read = await reader.read();
      if (read.done) break;
      received += read.value.byteLength;
      if (received > maxBytes) throw new Error('refusal too large');
      chunks.push(read.value);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8');
}
