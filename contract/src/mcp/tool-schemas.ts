// The zod schemas of the MCP tools (snake_case, as LLM tool arguments usually are). Built from the
// protocol's own field schemas, so an agent id or message id means the same thing everywhere. Only
// JSON-Schema-representable parts (no transforms, no dates): the MCP SDK converts them with
// `z.toJSONSchema`, and one unrepresentable schema would break `tools/list` for every tool.
import { z } from 'zod';
import { agentIdSchema, agentKeySchema, messageIdSchema } from '../schemas/primitives.js';

const MAX_TIMEOUT_SECONDS = 300;

const timeoutSeconds = z
  .number()
  .min(0)
  .max(MAX_TIMEOUT_SECONDS)
  .describe(`How long to wait for a message, in seconds (0–${MAX_TIMEOUT_SECONDS}).`);

// Outputs are this server's own, parsed before they are sent: their JSON Schema only has to show a
// model the shape, and every pattern or bound in it is paid for in each agent's context.
const outAgentId = z.string();
const outMessageId = z.string();
const outNumber = z.number();

/** The most recipients of one group send: a group has at most 100 members, the sender included. */
const MAX_RECIPIENTS = 99;
/** A path on the MCP server's machine; long enough for any real one. */
const MAX_PATH_CHARS = 4096;

export const sendMessageInput = z.object({
  to_agent: z
    .union([agentIdSchema, z.array(agentIdSchema).min(1).max(MAX_RECIPIENTS)])
    .describe(`Recipient id, or a list of 1–${MAX_RECIPIENTS} (a group: each can reply to all).`),
  // Any JSON value; emptiness and nesting depth are checked by the handler (a bounded, iterative
  // check: a schema cannot say "at most 64 deep").
  message: z
    .json()
    .optional()
    .describe('Any JSON value: an object or text. Encrypted per recipient. Or give file_path.'),
  file_path: z
    .string()
    .min(1)
    .max(MAX_PATH_CHARS)
    .optional()
    .describe('A file on this machine to send instead of message.'),
  reply_to: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('message_id answered; to_agent: its sender, or (a list) its group.'),
  request_receipt: z.boolean().optional().describe('Ask for a delivery receipt.'),
  recipient_public_key: agentKeySchema
    .optional()
    .describe('The recipient’s key (ddk1_…) got out of band; pinned, must match the directory.'),
});

export const sendMessageOutput = z.object({
  // One recipient: the fields below. A list: group_id and results.
  message_id: outMessageId.optional(),
  uid: z.string().optional().describe('The message’s own id, as receipts name it.'),
  to_agent: outAgentId.optional(),
  recipient_fingerprint: z.string().optional(),
  key_source: z
    .enum(['explicit', 'directory'])
    .optional()
    .describe('directory: the relay’s key, pinned on first contact.'),
  first_contact: z.boolean().optional(),
  bytes: outNumber.optional(),
  expires_at: outNumber.optional().describe('When the relay drops it unread.'),
  duplicate: z.boolean().optional(),
  forward_secret: z
    .boolean()
    .optional()
    .describe('Sealed to a one-time prekey: no long-term key opens it.'),
  group_id: z.string().optional(),
  results: z
    .array(
      z.object({
        to_agent: outAgentId,
        ok: z.boolean(),
        message_id: outMessageId.optional(),
        uid: z.string().optional(),
        forward_secret: z.boolean().optional(),
        error: z.string().optional(),
      }),
    )
    .optional(),
});

/** One received message, as receive_messages and wait_for_message both report it. */
export const receivedMessage = z.object({
  message_id: outMessageId,
  from_agent: outAgentId.nullable(),
  message: z.json().nullable().describe('The body as JSON; null for a file or unreadable one.'),
  content_type: z.string().optional(),
  filename: z.string().optional(),
  file_path: z.string().optional().describe('Where the file was saved.'),
  bytes: outNumber.optional(),
  reply_to: z.string().optional(),
  thread_id: z.string().optional(),
  group: z.array(outAgentId).optional().describe('All members, sender first.'),
  receipt_requested: z.boolean().optional(),
  sent_at: outNumber.nullable(),
  received_at: outNumber,
  verified: z.boolean().describe('Signed with the sender’s pinned key.'),
  problem: z.string().optional().describe('Why unverified or unreadable.'),
});

export const receiveMessagesInput = z.object({
  timeout_seconds: timeoutSeconds.optional(),
  limit: z
    .number()
    .int()
    .min(1)
    .max(100)
    .optional()
    .describe('At most this many messages (1–100).'),
});

export const receiveMessagesOutput = z.object({
  messages: z.array(receivedMessage),
  receipts: z
    .array(
      z.object({
        from_agent: outAgentId,
        message_ids: z.array(z.string()).describe('uids of your messages it received.'),
        at: outNumber,
      }),
    )
    .describe('Verified delivery receipts that arrived since the last call.'),
});

export const getPublicKeyInput = z.object({});

export const getPublicKeyOutput = z.object({
  agent_id: outAgentId,
  public_key: z
    .string()
    .describe('This agent’s key (ddk1_…), to hand to agents that will write to it.'),
  fingerprint: z.string(),
  relay_url: z.string(),
  relay_id: z.string(),
});

export const getMailboxStatsInput = z.object({});

export const getMailboxStatsOutput = z.object({
  agent_id: outAgentId,
  count: outNumber,
  bytes: outNumber,
  oldest_message_id: outMessageId.nullable(),
  newest_message_id: outMessageId.nullable(),
  max_messages: outNumber.describe('The mailbox refuses new messages beyond this.'),
});

export const deleteMessageInput = z.object({
  message_id: messageIdSchema.describe('The message_id of a received message.'),
});

export const deleteMessageOutput = z.object({
  message_id: outMessageId,
  deleted: z.boolean().describe('False when no such message was in the mailbox (already gone).'),
});

export const lookupAgentInput = z.object({
  agent_id: agentIdSchema,
});

export const lookupAgentOutput = z.object({
  agent_id: outAgentId,
  public_key: z.string(),
  fingerprint: z.string(),
  registered_at: outNumber,
  pin_status: z
    .enum(['unpinned', 'matches', 'differs'])
    .describe('differs: the directory key is not the one pinned earlier — verify it out of band.'),
});

export const waitForMessageInput = z.object({
  from_agent: agentIdSchema.optional().describe('Only a message from this agent ends the wait.'),
  timeout_seconds: timeoutSeconds,
});

export const waitForMessageOutput = z.object({
  message: receivedMessage.nullable(),
  timed_out: z.boolean(),
});
