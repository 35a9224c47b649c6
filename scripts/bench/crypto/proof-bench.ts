// The relay's per-request authentication cost, and the client's cost of making a proof.
import {
  DEFAULT_LIMITS,
  createProof,
  decodeAuthorization,
  encodeAuthorization,
  parseAgentKey,
  scopeForPaths,
  verifyProofSignature,
  type AgentKeys,
} from '@deaddrop/contract';
import { check, measureRate } from './measure-rate.js';

const RELAY_ID = 'bench';

export interface ProofBenchResult {
  readonly verifyPerSecond: number;
  readonly createPerSecond: number;
}

/**
 * The relay's CPU work for one mailbox proof (server/src/auth/mailbox-auth.ts) minus the store:
 * decode the header, clock-window check, scope check, the agent's key (parseAgentKey is memoised,
 * so cached after the first request, as on the relay), Ed25519 verify. The directory lookup and
 * the nonce write are store access and left out. Client side: createProof + encodeAuthorization.
 */
export function benchProof(seconds: number, alice: AgentKeys): ProofBenchResult {
  const scope = scopeForPaths(['poll']);
  const windowMs = DEFAULT_LIMITS.authWindowSeconds * 1000;
  const newHeader = (): string =>
    encodeAuthorization(createProof({ relayId: RELAY_ID, agentId: 'alice', keys: alice, scope }));
  let header = newHeader();
  let headerTs = Date.now();
  let calls = 0;
  const verify = (): string => {
    // Keeps the proof inside the window when `seconds` is long (a counter test per call).
    if (++calls % 4096 === 0 && Date.now() - headerTs > windowMs / 2) {
      header = newHeader();
      headerTs = Date.now();
    }
    const proof = decodeAuthorization(header);
    if (proof === null) throw new Error('AUTH_MALFORMED');
    if (Math.abs(proof.ts - Date.now()) > windowMs) throw new Error('AUTH_STALE');
    if (proof.scope !== scope) throw new Error('AUTH_WRONG_SCOPE');
    const key = parseAgentKey(alice.agentKey);
    if (key === null || !verifyProofSignature(RELAY_ID, proof, key.verifyKey))
      throw new Error('AUTH_BAD_SIGNATURE');
    return proof.agentId;
  };
  check(verify() === 'alice', 'proof verification');
  const forged = decodeAuthorization(header);
  check(
    forged !== null &&
      !verifyProofSignature(RELAY_ID, { ...forged, scope: 'delete' }, alice.verifyKey),
    'forged proof refusal',
  );
  return {
    verifyPerSecond: measureRate(verify, seconds),
    createPerSecond: measureRate(newHeader, seconds),
  };
}
