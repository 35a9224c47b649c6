// The typed tRPC client for a relay: superjson, HTTP batching of the calls made together, and a
// fresh mailbox proof per HTTP request whose scope names exactly the procedures in that request
// (PROTOCOL §3 "Mailbox auth").
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  splitLink,
  type HTTPHeaders,
  type Operation,
  type TRPCClient,
} from '@trpc/client';
import {
  createProof,
  encodeAuthorization,
  listProcedures,
  scopeForPaths,
  type AgentKeys,
  type AppRouter,
} from '@deaddrop/contract';
import superjson from 'superjson';
import { DeadDropError } from './errors.js';
import { trpcEndpoint } from './relay-url.js';
import { checkedAnswersLink, longPollWaitMs } from './http/checked-answers-link.js';
import { createLeanFetch, type LeanAgents } from './http/lean-fetch.js';
import { turnBatchLink } from './http/turn-batch-link.js';

export type RelayClient = TRPCClient<AppRouter>;

export interface ProofSigner {
  readonly agentId: string;
  readonly keys: Pick<AgentKeys, 'signing'>;
}

export interface RelayTransportOptions {
  /** The relay's base URL; `/trpc` is appended. */
  readonly relayUrl: string;
  /** The relay access key (`x-deaddrop-api-key`), when the relay requires one. */
  readonly apiKey?: string | undefined;
  /** Signs mailbox proofs; without one, mailbox procedures fail before any request. */
  readonly signer?: ProofSigner | undefined;
  /** The relay id proofs are bound to (from `info`, fetched once by the caller). */
  readonly relayId: () => Promise<string>;
  /** Most calls per batched request. */
  readonly maxBatchItems?: number;
  /** How long a call may take before it fails (a long-poll gets its wait on top). Default 30 s. */
  readonly timeoutMs?: number;
  /** The largest answer accepted, in bytes (the built-in fetch only). Default 256 MiB. */
  readonly maxResponseBytes?: number;
  /** Connection pools for the built-in fetch (default: pools shared by every transport). */
  readonly agents?: LeanAgents;
  readonly fetch?: typeof fetch;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

const mailboxPaths: ReadonlySet<string> = new Set(
  listProcedures()
    .filter(({ definition }) => definition.auth === 'mailbox')
    .map(({ path }) => path),
);

/** Whether a procedure path needs a mailbox proof, per the contract's procedure table. */
export function isMailboxProcedure(path: string): boolean {
  return mailboxPaths.has(path);
}

/** Every procedure path that needs a mailbox proof, in table order. */
export function mailboxProcedurePaths(): readonly string[] {
  return [...mailboxPaths];
}

/** A long-poll holds its HTTP request open, so it must not share one with other calls. */
export function isLongPoll(op: Pick<Operation, 'path' | 'input'>): boolean {
  return longPollWaitMs(op) > 0;
}

export function createRelayTransport(options: RelayTransportOptions): RelayClient {
  const url = trpcEndpoint(options.relayUrl);
  const headersFor = createHeaderBuilder(options);
  const common = {
    url,
    transformer: superjson,
    // A custom fetch (tests, proxies) is used as given; otherwise the lean Node one.
    fetch:
      options.fetch ??
      createLeanFetch({
        ...(options.maxResponseBytes === undefined
          ? {}
          : { maxResponseBytes: options.maxResponseBytes }),
        ...(options.agents === undefined ? {} : { agents: options.agents }),
      }),
  };
  const single = httpLink({ ...common, headers: ({ op }) => headersFor([op.path]) });
  const maxItems = options.maxBatchItems ?? 10;
  return createTRPCClient<AppRouter>({
    links: [
      // Every answer is checked against the contract, and every call has a deadline.
      checkedAnswersLink({
        relayUrl: options.relayUrl,
        timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      }),
      splitLink({
        condition: isLongPoll,
        true: single,
        false:
          maxItems <= 1
            ? single
            : turnBatchLink({
                single,
                batch: httpBatchLink({
                  ...common,
                  maxItems,
                  headers: ({ opList }) => headersFor(opList.map((op) => op.path)),
                }),
              }),
      }),
    ],
  });
}

/** Headers for one HTTP request carrying calls to `paths`, in request order. */
function createHeaderBuilder(
  options: Pick<RelayTransportOptions, 'apiKey' | 'signer' | 'relayId'>,
): (paths: readonly string[]) => Promise<HTTPHeaders> {
  return async (paths) => {
    const headers: Record<string, string> = {};
    if (options.apiKey !== undefined) headers['x-deaddrop-api-key'] = options.apiKey;
    if (paths.some(isMailboxProcedure)) {
      const { signer } = options;
      if (signer === undefined) {
        throw new DeadDropError(
          'IDENTITY_NOT_FOUND',
          `calling ${paths.join(', ')} needs an agent identity to sign the request`,
        );
      }
      const proof = createProof({
        relayId: await options.relayId(),
        agentId: signer.agentId,
        keys: signer.keys,
        scope: scopeForPaths(paths),
      });
      headers.authorization = encodeAuthorization(proof);
    }
    return headers;
  };
}
