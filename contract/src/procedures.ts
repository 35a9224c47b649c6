// The procedure table: the single source of truth the relay implements, the client calls and the
// MCP server exposes. Nested like the router (`directory.register`).
import type { z } from 'zod';
import {
  agentRecord,
  deleteInput,
  deleteOutput,
  inboxInput,
  infoOutput,
  lookupInput,
  pollInput,
  pollOutput,
  registerInput,
  sendInput,
  sendManyInput,
  sendManyOutput,
  sendOutput,
  statsOutput,
  storedMessage,
} from './schemas/procedures.js';
import {
  claimPrekeyInput,
  claimPrekeyOutput,
  publishPrekeysInput,
  publishPrekeysOutput,
} from './schemas/prekeys.js';
import { directoryRecord, rotateInput } from './schemas/rotation.js';
import { hookClearOutput, hookGetOutput, hookSetInput, hookSetOutput } from './schemas/hooks.js';

export type ProcedureKind = 'query' | 'mutation' | 'subscription';

/**
 * - `none`: anyone may call (still subject to relay access keys, except `info`).
 * - `signature`: the input itself carries a signature (registration, rotation).
 * - `mailbox`: a fresh `DeadDrop` proof for the mailbox is required (PROTOCOL §3).
 */
export type ProcedureAuth = 'none' | 'signature' | 'mailbox';

export interface ProcedureDefinition {
  readonly kind: ProcedureKind;
  readonly auth: ProcedureAuth;
  /** Whether relay access keys (`DEADDROP_API_KEYS`) apply; only `info` is exempt. */
  readonly apiKey: boolean;
  readonly input: z.ZodType | undefined;
  /** For a subscription: the schema of each yielded item. */
  readonly output: z.ZodType;
  readonly description: string;
}

export interface ProcedureTree {
  readonly [name: string]: ProcedureDefinition | ProcedureTree;
}

export const procedures = {
  info: {
    kind: 'query',
    auth: 'none',
    apiKey: false,
    input: undefined,
    output: infoOutput,
    description: 'Relay id, version and limits.',
  },
  directory: {
    register: {
      kind: 'mutation',
      auth: 'signature',
      apiKey: true,
      input: registerInput,
      output: agentRecord,
      description: 'Claim an agent id for a public agent key (signed by that key).',
    },
    lookup: {
      kind: 'query',
      auth: 'none',
      apiKey: true,
      input: lookupInput,
      output: directoryRecord,
      description:
        'The public agent key registered for an agent id, with its signed rotations (oldest first).',
    },
    rotate: {
      kind: 'mutation',
      auth: 'signature',
      apiKey: true,
      input: rotateInput,
      output: directoryRecord,
      description:
        'Replace an agent’s key: signed by the current key (authority) and by the new one (possession).',
    },
    publishPrekeys: {
      kind: 'mutation',
      auth: 'mailbox',
      apiKey: true,
      input: publishPrekeysInput,
      output: publishPrekeysOutput,
      description:
        'Publish 1–100 one-time prekeys signed by the agent key; the relay holds at most 200 per agent.',
    },
    claimPrekey: {
      kind: 'mutation',
      auth: 'none',
      apiKey: true,
      input: claimPrekeyInput,
      output: claimPrekeyOutput,
      description:
        'Take (remove) the oldest one-time prekey of an agent, or null when none is left; rate-limited per address and mailbox.',
    },
  },
  send: {
    kind: 'mutation',
    auth: 'none',
    apiKey: true,
    input: sendInput,
    output: sendOutput,
    description: 'Drop a sealed envelope into a mailbox.',
  },
  sendMany: {
    kind: 'mutation',
    auth: 'none',
    apiKey: true,
    input: sendManyInput,
    output: sendManyOutput,
    description:
      'Group send: up to 100 sealed envelopes, one per recipient, each stored as by `send`; one result per item.',
  },
  poll: {
    kind: 'query',
    auth: 'mailbox',
    apiKey: true,
    input: pollInput,
    output: pollOutput,
    description: 'Messages after a cursor, optionally waiting for one to arrive (long-poll).',
  },
  stats: {
    kind: 'query',
    auth: 'mailbox',
    apiKey: true,
    input: undefined,
    output: statsOutput,
    description: 'Count, size and id range of the unexpired messages in a mailbox.',
  },
  delete: {
    kind: 'mutation',
    auth: 'mailbox',
    apiKey: true,
    input: deleteInput,
    output: deleteOutput,
    description: 'Remove messages from a mailbox by id.',
  },
  inbox: {
    kind: 'subscription',
    auth: 'mailbox',
    apiKey: true,
    input: inboxInput,
    output: storedMessage,
    description: 'Live stream of a mailbox: everything after the cursor, then each new message.',
  },
  hooks: {
    set: {
      kind: 'mutation',
      auth: 'mailbox',
      apiKey: true,
      input: hookSetInput,
      output: hookSetOutput,
      description:
        'Set the mailbox’s wake-up webhook: a signed, content-free notice is POSTed to the URL when mail arrives.',
    },
    get: {
      kind: 'query',
      auth: 'mailbox',
      apiKey: true,
      input: undefined,
      output: hookGetOutput,
      description: 'The mailbox’s webhook and its delivery status (never its secret), or null.',
    },
    clear: {
      kind: 'mutation',
      auth: 'mailbox',
      apiKey: true,
      input: undefined,
      output: hookClearOutput,
      description: 'Remove the mailbox’s webhook; no more notices are sent.',
    },
  },
} as const satisfies ProcedureTree;

export type Procedures = typeof procedures;

function isProcedureDefinition(
  node: ProcedureDefinition | ProcedureTree,
): node is ProcedureDefinition {
  return typeof node.kind === 'string' && 'output' in node;
}

/** Every procedure with its dotted path, in table order. */
export function listProcedures(
  tree: ProcedureTree = procedures,
  prefix = '',
): { path: string; definition: ProcedureDefinition }[] {
  return Object.entries(tree).flatMap(([name, node]) =>
    isProcedureDefinition(node)
      ? [{ path: prefix + name, definition: node }]
      : listProcedures(node, `${prefix}${name}.`),
  );
}

type PathsOf<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends ProcedureDefinition
    ? `${Prefix}${K}`
    : PathsOf<T[K], `${Prefix}${K}.`>;
}[keyof T & string];

/** Every procedure's dotted path: `'info' | 'directory.register' | …`. */
export type ProcedurePath = PathsOf<Procedures>;
