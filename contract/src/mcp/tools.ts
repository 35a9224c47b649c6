// The MCP side of the contract: which tools the MCP server offers, each with its title, description,
// annotations and zod schemas, and for every relay procedure the decision of how MCP exposes it.
// The mcp package registers exactly these tools by looping over `mcpTools`; a procedure added to
// the contract that no tool uses fails the typecheck until `mcpOtherExposure` decides it.
import type { z } from 'zod';
import type { ProcedurePath } from '../procedures.js';
import {
  deleteMessageInput,
  deleteMessageOutput,
  getMailboxStatsInput,
  getMailboxStatsOutput,
  getPublicKeyInput,
  getPublicKeyOutput,
  lookupAgentInput,
  lookupAgentOutput,
  receiveMessagesInput,
  receiveMessagesOutput,
  sendMessageInput,
  sendMessageOutput,
  waitForMessageInput,
  waitForMessageOutput,
} from './tool-schemas.js';

/** MCP tool annotations (hints to the client; see the MCP specification). */
export interface McpToolAnnotations {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  /** The tool talks to the relay, outside this machine. */
  readonly openWorldHint: boolean;
}

export interface McpToolDefinition {
  readonly title: string;
  readonly description: string;
  readonly annotations: McpToolAnnotations;
  readonly input: z.ZodObject;
  readonly output: z.ZodObject;
  /** The relay procedures the tool is built on. */
  readonly procedures: readonly ProcedurePath[];
}

const reads = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
} as const;

export const mcpTools = {
  send_message: {
    title: 'Send a message',
    description:
      'Send an end-to-end encrypted message (any JSON, or a file) to an agent or a group. Keys come from the relay directory, pinned on first contact; if one changes, the send is refused until you confirm it (recipient_public_key).',
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: true,
    },
    input: sendMessageInput,
    output: sendMessageOutput,
    // A list of recipients is one group send (`sendMany`).
    procedures: ['info', 'directory.lookup', 'send', 'sendMany'],
  },
  receive_messages: {
    title: 'Receive messages',
    description:
      'Fetch the messages (decrypted, verified) and delivery receipts that arrived since the last call. With timeout_seconds, waits up to that long for a first message. Messages stay in the mailbox until deleted.',
    annotations: { ...reads, readOnlyHint: false, idempotentHint: false },
    input: receiveMessagesInput,
    output: receiveMessagesOutput,
    procedures: ['info', 'poll', 'directory.lookup'],
  },
  wait_for_message: {
    title: 'Wait for a message',
    description:
      'Wait until a message arrives (optionally: from one given agent) or the timeout passes, and return it. Messages from other agents that arrive meanwhile are kept for the next receive_messages.',
    annotations: { ...reads, readOnlyHint: false, idempotentHint: false },
    input: waitForMessageInput,
    output: waitForMessageOutput,
    procedures: ['info', 'poll', 'directory.lookup'],
  },
  get_public_key: {
    title: 'Get my public key',
    description:
      'This agent’s id, public key and fingerprint, and the relay it uses — what another agent needs to write to it.',
    annotations: reads,
    input: getPublicKeyInput,
    output: getPublicKeyOutput,
    procedures: ['info'],
  },
  get_mailbox_stats: {
    title: 'Mailbox statistics',
    description:
      'How many messages are waiting in this agent’s mailbox, their size, and the limit.',
    annotations: reads,
    input: getMailboxStatsInput,
    output: getMailboxStatsOutput,
    procedures: ['stats'],
  },
  delete_message: {
    title: 'Delete a message',
    description: 'Delete a received message from the mailbox by its message_id.',
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: true,
    },
    input: deleteMessageInput,
    output: deleteMessageOutput,
    procedures: ['delete'],
  },
  lookup_agent: {
    title: 'Look up an agent',
    description:
      'The public key the relay directory holds for an agent id, and whether it matches the key pinned for it.',
    annotations: reads,
    input: lookupAgentInput,
    output: lookupAgentOutput,
    procedures: ['directory.lookup'],
  },
} as const satisfies Record<string, McpToolDefinition>;

export type McpToolName = keyof typeof mcpTools;

/** The MCP server's one resource: the inbox, with `resources/subscribe`. */
export const MCP_INBOX_RESOURCE = 'deaddrop://inbox';

export type McpExposure =
  | { readonly tools: readonly McpToolName[] }
  | { readonly resource: typeof MCP_INBOX_RESOURCE }
  | { readonly internal: string };

/** Every procedure some tool is built on (each tool's `procedures`). */
type ToolProcedures = (typeof mcpTools)[McpToolName]['procedures'][number];

/**
 * How MCP exposes the procedures no tool is built on — exactly those: a procedure added to the
 * contract without a tool using it does not typecheck until its MCP side is decided here.
 */
export const mcpOtherExposure = {
  'directory.register': {
    internal: 'the MCP server registers its own agent when it starts; agents never register others',
  },
  'directory.rotate': {
    internal:
      'rotating replaces the identity file’s seed, an owner’s decision: `deaddrop key rotate` or the SDK',
  },
  inbox: { resource: MCP_INBOX_RESOURCE },
  'hooks.set': {
    internal:
      'an MCP agent has no URL to receive notices on; the mailbox owner sets hooks with the SDK or CLI',
  },
  'hooks.get': { internal: 'hooks are managed with the SDK or CLI (`deaddrop hook get`)' },
  'hooks.clear': { internal: 'hooks are managed with the SDK or CLI (`deaddrop hook clear`)' },
  'directory.publishPrekeys': {
    internal: 'the SDK under the MCP server publishes and tops up its own prekeys',
  },
  'directory.claimPrekey': {
    internal: 'the SDK claims a prekey inside `send_message` to seal forward-secret mail',
  },
} as const satisfies Record<Exclude<ProcedurePath, ToolProcedures>, McpExposure>;

/** How MCP exposes `path`: the tools built on it (from their own lists), or the decision above. */
export function mcpExposureOf(path: ProcedurePath): McpExposure {
  const tools = (Object.keys(mcpTools) as McpToolName[]).filter((name) =>
    (mcpTools[name].procedures as readonly ProcedurePath[]).includes(path),
  );
  if (tools.length > 0) return { tools };
  const other: Readonly<Partial<Record<ProcedurePath, McpExposure>>> = mcpOtherExposure;
  const decided = other[path];
  if (decided === undefined) throw new Error(`no MCP exposure decided for ${path}`);
  return decided;
}
