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

const milliseconds = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const sendMessageInput = z.object({
  to_agent: agentIdSchema.describe('The recipient agent id, e.g. "research-bot".'),
  message: z
    .string()
    // Worded as the CLI's refusal: an empty message is refused by both, in the same terms.
    .min(1, { error: 'the message is empty; nothing sent (write the text to send)' })
    .describe('The message text. It is encrypted for the recipient before it leaves this machine.'),
  recipient_public_key: agentKeySchema
    .optional()
    .describe(
      'The recipient’s agent key (ddk1_…), if you got it out of band; it is pinned and must match the directory.',
    ),
});

export const sendMessageOutput = z.object({
  message_id: messageIdSchema.describe('The relay’s id for the stored message.'),
  to_agent: agentIdSchema,
  recipient_fingerprint: z.string().describe('Fingerprint of the key the message was sealed to.'),
  key_source: z
    .enum(['explicit', 'directory'])
    .describe(
      'explicit: a key given out of band; directory: the relay directory’s key, pinned on first contact.',
    ),
  first_contact: z.boolean().describe('True when this was the first message to this agent.'),
  bytes: z.number().int().min(0).describe('Encrypted size in bytes.'),
  expires_at: milliseconds.describe(
    'When the relay drops the message if it is not read (ms since epoch).',
  ),
  duplicate: z.boolean(),
});

export const receivedMessage = z.object({
  message_id: messageIdSchema,
  from_agent: agentIdSchema.nullable().describe('The sender, when the message could be opened.'),
  message: z.string().nullable().describe('The message text (JSON text for a structured body).'),
  sent_at: milliseconds.nullable(),
  received_at: milliseconds,
  verified: z
    .boolean()
    .describe('True when the sender’s signature checked out against their pinned key.'),
  problem: z
    .string()
    .optional()
    .describe('Why the message is unverified or unreadable (key changed, replay, expired, …).'),
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
});

export const getPublicKeyInput = z.object({});

export const getPublicKeyOutput = z.object({
  agent_id: agentIdSchema,
  public_key: z
    .string()
    .describe('This agent’s key (ddk1_…), to hand to agents that will write to it.'),
  fingerprint: z.string(),
  relay_url: z.string(),
  relay_id: z.string(),
});

export const getMailboxStatsInput = z.object({});

export const getMailboxStatsOutput = z.object({
  agent_id: agentIdSchema,
  count: z.number().int().min(0),
  bytes: z.number().int().min(0),
  oldest_message_id: messageIdSchema.nullable(),
  newest_message_id: messageIdSchema.nullable(),
  max_messages: z.number().int().min(0).describe('The mailbox refuses new messages beyond this.'),
});

export const deleteMessageInput = z.object({
  message_id: messageIdSchema.describe('The message_id of a received message.'),
});

export const deleteMessageOutput = z.object({
  message_id: messageIdSchema,
  deleted: z.boolean().describe('False when no such message was in the mailbox (already gone).'),
});

export const lookupAgentInput = z.object({
  agent_id: agentIdSchema,
});

export const lookupAgentOutput = z.object({
  agent_id: agentIdSchema,
  public_key: z.string(),
  fingerprint: z.string(),
  registered_at: milliseconds,
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
