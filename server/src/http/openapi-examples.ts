// Examples for the OpenAPI document (openapi-document.ts): one call of the procedures a newcomer
// meets first, typed by the contract's own schemas so they cannot drift from them at compile time,
// and parsed by those schemas in server/test/openapi.test.ts (Redocly checks them against the
// published JSON Schemas too). Values are realistic: a real sealed envelope, a real agent key.
import type { z } from 'zod';
import type { ProcedurePath, procedures } from '@deaddrop/contract';

type Table = typeof procedures;

/** One call: its input (absent for procedures without one) and its answer. */
export interface ProcedureExample {
  readonly input?: unknown;
  readonly output: unknown;
}

/** A call of `D`, typed by its schemas. */
interface TypedExample<D extends { input: z.ZodType | undefined; output: z.ZodType }> {
  readonly input: D['input'] extends z.ZodType ? z.input<D['input']> : undefined;
  readonly output: z.output<D['output']>;
}

const RECEIVED_AT = 1_796_413_864_216;
const TTL_MS = 86_400_000;
const MESSAGE_ID = `${RECEIVED_AT}-0`;

/** A real v1 envelope (393 bytes decoded), sealed for `bob` by the SDK. */
const CIPHERTEXT =
  'AdkdIo53TSgGsCUhUC9FjgZO-MqbxAyWtFNBvIYgGbhEYwTclXQqyoZnNQW2B7fQWfWH7393YBossq7TE0MyTe7ReP45fs' +
  'FLeCQt2WhUb3pJOQ4HDjEMFxC1yNtpnVxZgRxw0nkdo7FDLbMDOML52b_BGDiaT2pl9LuHSD22Km11GCxJWN6bBym5Q_Dlg' +
  'hI_6Wyu0hwoavXjAb--8fuEwzGovpTjC_EuHuZ_gHrUCMEj6b5STdPRh9iGKaBglsAoTTCLLO_GGmceM9GAOrqVAs4x5tb7' +
  'riMtoHlJMwHnEwuZ1Fh0Rrps7PTt2go3562ochoZXcSRHZ-zs6biJBp-33QsbjzGJ_5GLKPErQZ7JbCNNSnow_BOE6my-lSP' +
  'gfuIFJ0tyun_GueaXUogKiTHW5itUzmYbpJeDHAzcc8SCvcDDXy2ZWSXEmAXypDXnLIZCkc4FbFl32RwMHxCc6r-B3JBh3vj' +
  'UKNSoSOjjYi_patIYYrvX0pCjfFTjbIFiXAQGBO0pxpB6-_N';

const LIMITS = {
  maxMessageBytes: 1_048_576,
  ttlSeconds: 86_400,
  maxMessages: 10_000,
  authWindowSeconds: 60,
  maxWaitMs: 30_000,
  maxBatchBytes: 4_194_304,
};

const storedMessage = {
  id: MESSAGE_ID,
  ciphertext: CIPHERTEXT,
  receivedAt: RECEIVED_AT,
  expiresAt: RECEIVED_AT + TTL_MS,
};

const info: TypedExample<Table['info']> = {
  input: undefined,
  output: {
    relayId: 'relay-Yq0c2F7xK1pV9sLb3mTzQa',
    version: '0.1.0',
    limits: LIMITS,
    rateLimits: {
      requestsPerSecond: 50,
      requestBurst: 100,
      subscriptionsPerMinute: 60,
      mailboxMessagesPerMinute: 600,
      senderMessagesPerMinute: 120,
      registrationsPerMinute: 10,
      liveConnectionsPerAddress: 100,
      prekeyClaimsPerMinute: 10,
    },
    protocol: ['v1', 'v1.1'],
  },
};

const lookup: TypedExample<Table['directory']['lookup']> = {
  input: { agentId: 'bob' },
  output: {
    agentId: 'bob',
    agentKey:
      'ddk1_gTl3Dqh9F19Wo1Rmw0x-zMuNipG07jeiXfYPW4_Js5Qxn_U7LvVjGgSaEt3ItgQYGZhN_YIlg1CSQBcrpDRZBg',
    registeredAt: 1_796_400_000_000,
    rotations: [],
  },
};

const send: TypedExample<Table['send']> = {
  input: { to: 'bob', ciphertext: CIPHERTEXT, idempotencyKey: 'c8Qm1vT4xZ0pK7nR2sW9yB' },
  output: {
    id: MESSAGE_ID,
    receivedAt: RECEIVED_AT,
    expiresAt: RECEIVED_AT + TTL_MS,
    duplicate: false,
  },
};

const poll: TypedExample<Table['poll']> = {
  input: { after: `${RECEIVED_AT - 1}-3`, limit: 50, waitMs: 25_000 },
  output: { messages: [storedMessage], cursor: MESSAGE_ID },
};

const stats: TypedExample<Table['stats']> = {
  input: undefined,
  output: {
    agentId: 'bob',
    count: 1,
    bytes: 393,
    oldestId: MESSAGE_ID,
    newestId: MESSAGE_ID,
    limits: LIMITS,
    prekeys: 100,
  },
};

const deleteMessages: TypedExample<Table['delete']> = {
  input: { ids: [MESSAGE_ID] },
  output: { deleted: 1 },
};

const inbox: TypedExample<Table['inbox']> = {
  input: { after: `${RECEIVED_AT - 1}-3` },
  output: storedMessage,
};

/** Examples by procedure path; a procedure without one is published without examples. */
export const procedureExamples: Readonly<Partial<Record<ProcedurePath, ProcedureExample>>> = {
  info,
  'directory.lookup': lookup,
  send,
  poll,
  stats,
  delete: deleteMessages,
  inbox,
};
