// Failures a tool reports to the model as an `isError` result, never as a protocol error: the SDK's
// typed errors become one actionable sentence each.
import { isDeadDropError, type DeadDropErrorReason } from '@deaddrop/client';
import { withMcpHints } from './cli-hints.js';

/** A failure whose message is already what the model should read. */
export class ToolFailure extends Error {
  override readonly name = 'ToolFailure';
}

/** Advice appended to the SDK's own message, by error reason. */
const advice: Partial<Record<DeadDropErrorReason, string>> = {
  AGENT_NOT_FOUND:
    'Check the agent id (lookup_agent); the agent may not have started on this relay yet.',
  KEY_CHANGED:
    'Do not trust the new key blindly: confirm it with the recipient out of band, then call send_message again with recipient_public_key set to it.',
  MAILBOX_FULL: 'The recipient has too many unread messages; try again later.',
  RATE_LIMITED:
    'The relay is limiting how fast this agent (or its address) may call it; wait the time the message gives, then try again.',
  // The SDK's message already says to check DEADDROP_SERVER_URL.
  RELAY_UNREACHABLE: 'The relay may be down or that URL wrong; try again later.',
  STORE_UNAVAILABLE: 'The relay’s storage is unavailable; try again in a little while.',
  API_KEY_INVALID:
    'The relay refused this server’s access key, or it has none: set DEADDROP_API_KEY to one the relay accepts.',
  AGENT_ID_TAKEN: 'MCP_AGENT_ID is registered on this relay with another key; choose another id.',
  MESSAGE_TOO_LARGE: 'Send a shorter message, or split it.',
  KEY_MISMATCH:
    'Ask the recipient for their agent key again (get_public_key on their side) and send with that one.',
};

/** The text of an `isError` result for `error`, or null when it is not a domain failure. */
export function describeFailure(error: unknown): string | null {
  if (error instanceof ToolFailure) return error.message;
  if (!isDeadDropError(error)) return null;
  const hint = advice[error.reason];
  return `${withMcpHints(error.message)}${hint === undefined ? '' : `. ${hint}`} (${error.reason})`;
}
