// The contract's shared schemas under the names docs/PROTOCOL.md uses for them. A definition is read
// from the schema; `meaning` says in words what a refinement checks (zod cannot say it).
import type { z } from 'zod';
import {
  agentIdSchema,
  agentKeySchema,
  agentRecord,
  ciphertextSchema,
  idempotencyKeySchema,
  limitsSchema,
  messageIdSchema,
  protocolVersionSchema,
  rateLimitsSchema,
  relayIdSchema,
  sendManyItemResult,
  signatureSchema,
  storedMessage,
  timestampSchema,
} from '@deaddrop/contract';
import { markdownTable, code } from './markdown.js';
import { typeText, type SchemaNames } from './zod-text.js';

interface NamedSchema {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly meaning: string;
}

const contractTypes: readonly NamedSchema[] = [
  {
    name: 'AgentId',
    schema: agentIdSchema,
    meaning: 'Names a mailbox on one relay (§1).',
  },
  {
    name: 'AgentKey',
    schema: agentKeySchema,
    meaning:
      '`ddk1_` + b64u(signPk ‖ boxPk), 91 characters, canonical, neither key weak (§1). In answers (`AgentRecord.agentKey`) the relay returns the registered text.',
  },
  {
    name: 'MessageId',
    schema: messageIdSchema,
    meaning:
      'A relay message id `"<ms>-<seq>"`, ordered by `ms`, then `seq`, numerically (§3.3). Both parts may exceed 2^53.',
  },
  {
    name: 'Ms',
    schema: timestampSchema,
    meaning: 'Integer milliseconds since the Unix epoch.',
  },
  {
    name: 'Signature',
    schema: signatureSchema,
    meaning: 'An Ed25519 signature: 64 bytes as canonical b64u (86 characters).',
  },
  {
    name: 'Ciphertext',
    schema: ciphertextSchema,
    meaning:
      'A sealed envelope: canonical b64u whose first byte is `0x01` (§2, at least 169 bytes decoded) or `0x02` (§10, prekey envelope, at least 177). The size limit (`info.limits.maxMessageBytes`) is checked after the schema.',
  },
  {
    name: 'IdempotencyKey',
    schema: idempotencyKeySchema,
    meaning: 'At least 128 random bits, chosen by the sender per message (§3.3 `send`).',
  },
  {
    name: 'RelayId',
    schema: relayIdSchema,
    meaning: 'The id proofs and registrations are bound to (§3.4).',
  },
  {
    name: 'StoredMessage',
    schema: storedMessage,
    meaning: '`receivedAt` is the id’s `ms` part; `expiresAt = receivedAt + ttlSeconds · 1000`.',
  },
  {
    name: 'AgentRecord',
    schema: agentRecord,
    meaning: 'A directory entry.',
  },
  {
    name: 'ProtocolVersion',
    schema: protocolVersionSchema,
    meaning:
      'A protocol version a relay speaks (`"v1"`, `"v1.1"`); clients ignore ones they do not know. A relay without `info.protocol` speaks v1 only.',
  },
  {
    name: 'SendManyItemResult',
    schema: sendManyItemResult,
    meaning:
      'One item of a group send (§8): stored, with `send`’s answer, or refused, with the tRPC `code`, catalogue `reason` and message `send` would have answered. Refusals are bounded text so a client reads reasons newer than its catalogue.',
  },
  {
    name: 'Limits',
    schema: limitsSchema,
    meaning:
      'The relay’s configured limits (§5). `maxBatchBytes` (§8) is absent from relays that speak only v1; a client reads it as `4 × maxMessageBytes` where needed.',
  },
  {
    name: 'RateLimits',
    schema: rateLimitsSchema,
    meaning:
      'The relay’s rate limits (§3.6); `0` turns one off. `liveConnectionsPerAddress` and `prekeyClaimsPerMinute` (§10) are absent from relays older than them (read as 0).',
  },
];

export const contractTypeNames: SchemaNames = new Map(
  contractTypes.map(({ name, schema }) => [schema, name]),
);

/** The table defining each name: the schema's own definition and what it means. */
export function renderContractTypes(): string {
  return markdownTable(
    ['type', 'definition', 'meaning'],
    contractTypes.map(({ name, schema, meaning }) => [
      name,
      code(typeText(schema, contractTypeNames, true)),
      meaning,
    ]),
  );
}
