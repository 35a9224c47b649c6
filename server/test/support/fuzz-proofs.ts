// Mailbox proofs for the fuzz suite (PROTOCOL §3 "Mailbox auth"): specifications of a proof with
// at most one defect, the `authorization` text each becomes on a given relay, and the catalogue
// reason the relay must refuse it with.
import fc from 'fast-check';
import {
  createProof,
  encodeAuthorization,
  toB64u,
  utf8,
  type AuthProof,
  type RelayErrorReason,
} from '@deaddrop/contract';
import type { TestAgent } from './relay-harness.js';

/** Ways to break a correctly signed proof's encoding; each makes it malformed. */
const MANGLINGS = [
  'padding',
  'scheme-lowercase',
  'scheme-bearer',
  'no-scheme',
  'double-space',
  'extra-field',
  'ts-as-string',
  'short-nonce',
  'short-sig',
  'empty-scope',
  'oversize',
  'not-json',
  'not-utf8',
  'array',
] as const;
export type Mangling = (typeof MANGLINGS)[number];

export type ProofSpec =
  | { readonly kind: 'none' }
  /** Any header text (printable ASCII). */
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'valid' }
  | { readonly kind: 'wrong-scope'; readonly scope: string }
  /** `ts` this far from now, beyond the relay's window. */
  | { readonly kind: 'stale'; readonly offsetMs: number }
  /** Names the mailbox's agent, signed by another registered agent. */
  | { readonly kind: 'forged' }
  /** Signed for another relay's id. */
  | { readonly kind: 'other-relay' }
  /** A well-signed proof of an agent this relay does not know. */
  | { readonly kind: 'unknown-agent' }
  | { readonly kind: 'mangled'; readonly how: Mangling };

const printable = fc.string({ maxLength: 300 });

/** Every kind of proof; `valid` ones only when the property can tell success apart. */
export function proofSpec(options: { valid: number }): fc.Arbitrary<ProofSpec> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          printable,
          fc.constantFrom(
            'DeadDrop',
            'DeadDrop ',
            'Bearer x',
            'DeadDrop e30',
            'Basic YTpi',
            'A'.repeat(3_000),
          ),
        )
        .map((text) => ({ kind: 'text' as const, text })),
    },
    { weight: options.valid, arbitrary: fc.constant({ kind: 'valid' as const }) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            'poll',
            'stats',
            'delete',
            'inbox',
            'ws',
            'send',
            'poll,stats',
            'stats,poll',
            'poll,',
            'POLL',
            ' poll',
            '*',
          ),
          fc.string({ minLength: 1, maxLength: 30 }),
        )
        .map((scope) => ({ kind: 'wrong-scope' as const, scope })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.integer({ min: 65_000, max: 1e9 }), fc.integer({ min: -1e9, max: -65_000 }))
        .map((offsetMs) => ({ kind: 'stale' as const, offsetMs })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { kind: 'forged' as const },
        { kind: 'other-relay' as const },
        { kind: 'unknown-agent' as const },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...MANGLINGS).map((how) => ({ kind: 'mangled' as const, how })),
    },
  );
}

export interface ProofContext {
  readonly relayId: string;
  /** The mailbox's owner; `forger` is registered too, `stranger` is not. */
  readonly owner: TestAgent;
  readonly forger: TestAgent;
  readonly stranger: TestAgent;
  /** The scope the relay expects for the request carrying the proof. */
  readonly scope: string;
}

const b64uJson = (value: unknown): string => toB64u(utf8(JSON.stringify(value)));

function mangle(how: Mangling, proof: AuthProof): string {
  const encoded = encodeAuthorization(proof);
  const payload = encoded.slice('DeadDrop '.length);
  switch (how) {
    case 'padding':
      return `${encoded}=`;
    case 'scheme-lowercase':
      return `deaddrop ${payload}`;
    case 'scheme-bearer':
      return `Bearer ${payload}`;
    case 'no-scheme':
      return payload;
    case 'double-space':
      return `DeadDrop  ${payload}`;
    case 'extra-field':
      return `DeadDrop ${b64uJson({ ...proof, extra: 1 })}`;
    case 'ts-as-string':
      return `DeadDrop ${b64uJson({ ...proof, ts: String(proof.ts) })}`;
    case 'short-nonce':
      return `DeadDrop ${b64uJson({ ...proof, nonce: proof.nonce.slice(0, -2) })}`;
    case 'short-sig':
      return `DeadDrop ${b64uJson({ ...proof, sig: proof.sig.slice(0, -2) })}`;
    case 'empty-scope':
      return `DeadDrop ${b64uJson({ ...proof, scope: '' })}`;
    case 'oversize':
      return `DeadDrop ${toB64u(utf8(JSON.stringify(proof) + ' '.repeat(2_000)))}`;
    case 'not-json':
      return `DeadDrop ${toB64u(utf8('agentId=bob'))}`;
    case 'not-utf8':
      return `DeadDrop ${toB64u(Uint8Array.of(0xff, 0xfe, 0x7b, 0x7d))}`;
    case 'array':
      return `DeadDrop ${b64uJson([proof])}`;
  }
}

/** The `authorization` text for `spec` on one relay, made now (fresh ts and nonce). */
export function authorizationFor(spec: ProofSpec, ctx: ProofContext): string | undefined {
  const proof = (overrides: Partial<Parameters<typeof createProof>[0]> = {}): AuthProof =>
    createProof({
      relayId: ctx.relayId,
      agentId: ctx.owner.agentId,
      keys: ctx.owner.keys,
      scope: ctx.scope,
      ...overrides,
    });
  switch (spec.kind) {
    case 'none':
      return undefined;
    case 'text':
      return spec.text;
    case 'valid':
      return encodeAuthorization(proof());
    case 'wrong-scope':
      return encodeAuthorization(proof({ scope: spec.scope }));
    case 'stale':
      return encodeAuthorization(proof({ ts: Date.now() + spec.offsetMs }));
    case 'forged':
      return encodeAuthorization(proof({ keys: ctx.forger.keys }));
    case 'other-relay':
      return encodeAuthorization(proof({ relayId: `${ctx.relayId}-other` }));
    case 'unknown-agent':
      return encodeAuthorization(proof({ agentId: ctx.stranger.agentId, keys: ctx.stranger.keys }));
    case 'mangled':
      return mangle(spec.how, proof());
  }
}

/**
 * The reason the relay must refuse `spec` with when `scope` is expected, or null when the proof is
 * good. `trimmed`: the text travels in an HTTP header, whose surrounding spaces are not part of it.
 */
export function expectedAuthFailure(
  spec: ProofSpec,
  scope: string,
  trimmed = true,
): RelayErrorReason | null {
  switch (spec.kind) {
    case 'none':
      return 'AUTH_MISSING';
    case 'text':
      return (trimmed ? spec.text.trim() : spec.text) === '' ? 'AUTH_MISSING' : 'AUTH_MALFORMED';
    case 'valid':
      return null;
    case 'wrong-scope':
      return spec.scope === scope ? null : 'AUTH_WRONG_SCOPE';
    case 'stale':
      return 'AUTH_STALE';
    case 'forged':
    case 'other-relay':
      return 'AUTH_BAD_SIGNATURE';
    case 'unknown-agent':
      return 'AGENT_NOT_REGISTERED';
    case 'mangled':
      return 'AUTH_MALFORMED';
  }
}
