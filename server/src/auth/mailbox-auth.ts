// Mailbox proofs (PROTOCOL §3 "Mailbox auth"): who may read or delete from a mailbox. A proof is
// verified once per HTTP request (a batch shares it), and its nonce is recorded before any work.
import {
  SCOPE_SSE_INBOX,
  SCOPE_WEBSOCKET,
  decodeAuthorization,
  parseAgentKey,
  scopeForPaths,
  verifyProofSignature,
  type RequestContext,
} from '@deaddrop/contract';
import { RelayFault } from '../relay-error.js';
import type { AgentDirectory } from '../agent-directory.js';
import type { MailboxStore } from '../store/mailbox-store.js';

export interface MailboxAuthDeps {
  readonly relayId: string;
  readonly authWindowSeconds: number;
  readonly store: MailboxStore;
  readonly directory: AgentDirectory;
  readonly now: () => number;
}

/** The scope a request's proof must name, from how it reached the relay. */
export function expectedScope(ctx: RequestContext): string {
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
  const skewMs = Math.abs(proof.ts - deps.now());
  if (skewMs > deps.authWindowSeconds * 1000) {
    throw new RelayFault(
      'AUTH_STALE',
      `proof is ${Math.round(skewMs / 1000)} s away from the relay clock (window ${deps.authWindowSeconds} s)`,
    );
  }
  const scope = expectedScope(ctx);
  if (proof.scope !== scope) throw new RelayFault('AUTH_WRONG_SCOPE', `expected "${scope}"`);
  const record = await deps.directory.lookup(proof.agentId);
  if (record === null) throw new RelayFault('AUTH_UNKNOWN_AGENT');
  const key = parseAgentKey(record.agentKey);
  if (key === null || !verifyProofSignature(deps.relayId, proof, key.verifyKey)) {
    throw new RelayFault('AUTH_BAD_SIGNATURE');
  }
  // Kept past the whole window on both sides of `ts`, so a nonce can never be accepted twice.
  const keepUntil = proof.ts + deps.authWindowSeconds * 1000 + 1000;
  if (!(await deps.store.useNonce(proof.agentId, proof.nonce, keepUntil)))
    throw new RelayFault('AUTH_REPLAYED');
  return proof.agentId;
}
