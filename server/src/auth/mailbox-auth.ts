// Mailbox proofs (PROTOCOL §3 "Mailbox auth"): who may read or delete from a mailbox. A proof is
// verified once per HTTP request (a batch shares it), and its nonce is recorded before any work.
import {
  SCOPE_SSE_INBOX,
  SCOPE_WEBSOCKET,
  decodeAuthorization,
  parseAgentKey,
  scopeForPaths,
  verifyProofSignature,
  type AgentRecord,
  type AuthProof,
  type RequestContext,
} from '@deaddrop/contract';
import { RelayFault } from '../relay-error.js';
import type { AgentDirectory } from '../agent-directory.js';
import type { MailboxStore } from '../store/mailbox-store.js';

/**
 * How far apart the clocks of relay processes sharing one store may be without a proof becoming
 * replayable across them. A relay whose clock reads `t + d` at real time `t` accepts a proof until
 * real time `ts - d + W` (W: the auth window). Relay A records the nonce when its clock reads
 * `now`, keeping it for `ts + W + CLOCK_MARGIN_MS - now`: until real time
 * `ts - dA + W + CLOCK_MARGIN_MS` or later (the store counts from when it runs the command). Relay
 * B stops accepting at `ts - dB + W`, so the nonce outlives every relay's acceptance whenever
 * `dA - dB <= CLOCK_MARGIN_MS` (a relay ahead of A stops even sooner). A fixed `+ 1000` here used to
 * let a proof recorded by a relay more than 1 s ahead be replayed at one behind it. A margin, not
 * Redis's TIME: reading the store's clock would add a round trip to every authenticated request,
 * while relays kept by NTP stay far within a minute of each other.
 */
const CLOCK_MARGIN_MS = 60_000;

export interface MailboxAuthDeps {
  readonly relayId: string;
  readonly authWindowSeconds: number;
  readonly store: MailboxStore;
  readonly directory: AgentDirectory;
  readonly now: () => number;
}

/** The scope a request's proof must name, from how it reached the relay. */
function expectedScope(ctx: RequestContext): string {
  switch (ctx.transport) {
    case 'http':
      return scopeForPaths(ctx.paths);
    case 'sse':
      return SCOPE_SSE_INBOX;
    case 'ws':
      return SCOPE_WEBSOCKET;
  }
}

export interface MailboxAuth {
  /** The authenticated agent id for this request (verified once per context), or a 401 fault. */
  verify(ctx: RequestContext): Promise<string>;
  /** Hands a context the outcome of a verification done before tRPC saw the request (SSE). */
  prime(ctx: RequestContext, outcome: Promise<string>): void;
}

export function createMailboxAuth(deps: MailboxAuthDeps): MailboxAuth {
  // Keyed by the request context, so every call of one batch, or of one WebSocket connection,
  // shares one verification and so one nonce.
  const verified = new WeakMap<RequestContext, Promise<string>>();
  return {
    verify(ctx) {
      let result = verified.get(ctx);
      if (result === undefined) {
        result = verify(deps, ctx);
        verified.set(ctx, result);
      }
      return result;
    },
    prime(ctx, outcome) {
      verified.set(ctx, outcome);
    },
  };
}

/** Resolves to the authenticated agent id, or throws the precise UNAUTHORIZED fault. */
async function verify(deps: MailboxAuthDeps, ctx: RequestContext): Promise<string> {
  if (ctx.authorization === undefined || ctx.authorization === '')
    throw new RelayFault('AUTH_MISSING');
  const proof = decodeAuthorization(ctx.authorization);
  if (proof === null) throw new RelayFault('AUTH_MALFORMED');
  // One reading judges `ts` and sizes the nonce's lifetime; later awaits only lengthen it.
  const now = deps.now();
  const windowMs = deps.authWindowSeconds * 1000;
  const skewMs = Math.abs(proof.ts - now);
  if (skewMs > windowMs) {
    throw new RelayFault(
      'AUTH_STALE',
      `proof is ${Math.round(skewMs / 1000)} s away from the relay clock (window ${deps.authWindowSeconds} s)`,
    );
  }
  const scope = expectedScope(ctx);
  if (proof.scope !== scope) throw new RelayFault('AUTH_WRONG_SCOPE', `expected "${scope}"`);
  // Kept until every relay up to CLOCK_MARGIN_MS behind this one has stopped accepting `ts`.
  const keepForMs = Math.max(1, proof.ts + windowMs + CLOCK_MARGIN_MS - now);
  // The cached record only says which key to verify with; recording the nonce checks it against
  // the store in the same step. When the store holds another key (rotated through another relay
  // process), the proof is judged once more against the store's key: one retry, since a second
  // change between two round trips is a race the client's next call settles.
  let record = await deps.directory.lookup(proof.agentId);
  if (record !== null && !verifies(deps, proof, record)) {
    // A cached key the agent has since rotated away from (through another relay process) must not
    // refuse a proof made with the new one: judge it against the store's record.
    deps.directory.forget(proof.agentId);
    record = await deps.directory.lookup(proof.agentId);
  }
  let agentKey = verifiedKey(deps, proof, record);
  let outcome = await deps.store.useNonce(proof.agentId, proof.nonce, keepForMs, agentKey);
  if (outcome === 'key-changed') {
    deps.directory.forget(proof.agentId);
    agentKey = verifiedKey(deps, proof, await deps.directory.lookup(proof.agentId));
    outcome = await deps.store.useNonce(proof.agentId, proof.nonce, keepForMs, agentKey);
  }
  switch (outcome) {
    case 'fresh':
      return proof.agentId;
    case 'replayed':
      throw new RelayFault('AUTH_REPLAYED');
    case 'unknown-agent':
      deps.directory.forget(proof.agentId);
      throw new RelayFault('AGENT_NOT_REGISTERED');
    case 'key-changed':
      deps.directory.forget(proof.agentId);
      throw new RelayFault('AUTH_BAD_SIGNATURE');
  }
}

function verifies(deps: MailboxAuthDeps, proof: AuthProof, record: AgentRecord): boolean {
  const key = parseAgentKey(record.agentKey);
  return key !== null && verifyProofSignature(deps.relayId, proof, key.verifyKey);
}

/** The agent key `proof` verifies with, from `record`; else the precise UNAUTHORIZED fault. */
function verifiedKey(deps: MailboxAuthDeps, proof: AuthProof, record: AgentRecord | null): string {
  if (record === null) throw new RelayFault('AGENT_NOT_REGISTERED');
  if (!verifies(deps, proof, record)) throw new RelayFault('AUTH_BAD_SIGNATURE');
  return record.agentKey;
}
