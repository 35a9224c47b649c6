// Signed statements an agent makes to a relay (PROTOCOL §3): the per-request mailbox proof carried
// in `authorization: DeadDrop <b64u(JSON)>`, and the directory registration.
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { fromB64u, toB64u, utf8 } from './encoding/b64u.js';
import { randomBytes, signDetached, verifyDetached } from './crypto/primitives.js';
import type { AgentKeys } from './identity.js';
import {
  agentIdSchema,
  nonceSchema,
  signatureSchema,
  timestampSchema,
} from './schemas/primitives.js';

const AUTH_SCHEME = 'DeadDrop';
const AUTH_DOMAIN = 'deaddrop/auth/v1';
const REGISTER_DOMAIN = 'deaddrop/register/v1';
/** Longest authorization header accepted, far above any honest proof, to bound parsing work. */
const MAX_AUTHORIZATION_LENGTH = 2048;

const authProofSchema = z.strictObject({
  agentId: agentIdSchema,
  ts: timestampSchema,
  nonce: nonceSchema,
  scope: z.string().min(1).max(1024),
  sig: signatureSchema,
});
export type AuthProof = z.infer<typeof authProofSchema>;

/** Fields joined by a zero byte, after the domain string (PROTOCOL "Encodings"). */
function signedFields(domain: string, ...fields: readonly string[]): Uint8Array {
  return utf8([domain, ...fields].join('\0'));
}

function proofSignedBytes(relayId: string, proof: Omit<AuthProof, 'sig'>): Uint8Array {
  return signedFields(
    AUTH_DOMAIN,
    relayId,
    proof.agentId,
    String(proof.ts),
    proof.nonce,
    proof.scope,
  );
}

export interface CreateProofInput {
  readonly relayId: string;
  readonly agentId: string;
  readonly keys: Pick<AgentKeys, 'signing'>;
  readonly scope: string;
  readonly ts?: number;
  readonly nonce?: string;
}

export function createProof(input: CreateProofInput): AuthProof {
  const unsigned = {
    agentId: input.agentId,
    ts: input.ts ?? Date.now(),
    nonce: input.nonce ?? toB64u(randomBytes(16)),
    scope: input.scope,
  };
  const sig = toB64u(
    signDetached(input.keys.signing.privateKey, proofSignedBytes(input.relayId, unsigned)),
  );
  return { ...unsigned, sig };
}

export function encodeAuthorization(proof: AuthProof): string {
  const { agentId, ts, nonce, scope, sig } = proof;
  return `${AUTH_SCHEME} ${toB64u(utf8(JSON.stringify({ agentId, ts, nonce, scope, sig })))}`;
}

/** Parses an authorization value; null when it is missing, not ours, or malformed. */
export function decodeAuthorization(value: string | undefined): AuthProof | null {
  if (value === undefined || value.length > MAX_AUTHORIZATION_LENGTH) return null;
  const space = value.indexOf(' ');
  if (space < 0 || value.slice(0, space) !== AUTH_SCHEME) return null;
  const bytes = fromB64u(value.slice(space + 1));
  if (bytes === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  const parsed = authProofSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

export function verifyProofSignature(
  relayId: string,
  proof: AuthProof,
  verifyKey: KeyObject,
): boolean {
  const sig = fromB64u(proof.sig);
  return sig !== null && verifyDetached(verifyKey, proofSignedBytes(relayId, proof), sig);
}

function registrationSignedBytes(
  relayId: string,
  agentId: string,
  agentKey: string,
  ts: number,
): Uint8Array {
  return signedFields(REGISTER_DOMAIN, relayId, agentId, agentKey, String(ts));
}

export function signRegistration(input: {
  readonly relayId: string;
  readonly agentId: string;
  readonly keys: Pick<AgentKeys, 'signing' | 'agentKey'>;
  readonly ts?: number;
}): { agentId: string; agentKey: string; ts: number; sig: string } {
  const ts = input.ts ?? Date.now();
  const message = registrationSignedBytes(input.relayId, input.agentId, input.keys.agentKey, ts);
  return {
    agentId: input.agentId,
    agentKey: input.keys.agentKey,
    ts,
    sig: toB64u(signDetached(input.keys.signing.privateKey, message)),
  };
}

export function verifyRegistrationSignature(
  relayId: string,
  registration: {
    readonly agentId: string;
    readonly agentKey: string;
    readonly ts: number;
    readonly sig: string;
  },
  verifyKey: KeyObject,
): boolean {
  const sig = fromB64u(registration.sig);
  const message = registrationSignedBytes(
    relayId,
    registration.agentId,
    registration.agentKey,
    registration.ts,
  );
  return sig !== null && verifyDetached(verifyKey, message, sig);
}

/** Scope a proof must carry for a tRPC call: the path, or the batch's paths joined by ",". */
export function scopeForPaths(paths: readonly string[]): string {
  return paths.join(',');
}
export const SCOPE_SSE_INBOX = 'inbox';
export const SCOPE_WEBSOCKET = 'ws';
