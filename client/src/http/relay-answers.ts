// What a relay's answer must be before the SDK uses it: the contract's output schema for the
// procedure called, plus the promises a schema cannot state (a poll's cursor and order, a group
// send's one result per item in the items' order). A relay is
// not trusted: an answer that breaks either fails that one call and changes nothing locally.
import {
  PROTOCOL_LIMITS,
  listProcedures,
  messageIdSchema,
  type ProcedureDefinition,
  type PollResult,
  type SendManyResult,
} from '@deaddrop/contract';
import { compareMessageIds } from '../message-id.js';

const definitions: ReadonlyMap<string, ProcedureDefinition> = new Map(
  listProcedures().map(({ path, definition }) => [path, definition]),
);

export type AnswerCheck =
  | { readonly ok: true; readonly data: unknown }
  | {
      readonly ok: false;
      readonly problem: string;
      /** A failure more specific than RELAY_INVALID_RESPONSE: a malformed one-time prekey. */
      readonly reason?: 'PREKEY_INVALID';
    };

/**
 * Checks `data`, the answer to `path` called with `input`, and returns it as the schema parsed it
 * (unknown fields dropped). Subscriptions are checked item by item where they are read.
 */
export function checkRelayAnswer(path: string, input: unknown, data: unknown): AnswerCheck {
  const definition = definitions.get(path);
  if (definition === undefined) return { ok: false, problem: `it answered an unknown procedure` };
  const parsed = definition.output.safeParse(data);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.map(String).join('.') ?? '';
    const problem = `its ${path} answer does not match the protocol${where === '' ? '' : ` (at ${where})`}`;
    return handsOutMalformedPrekey(path, data, parsed.error.issues)
      ? { ok: false, problem, reason: 'PREKEY_INVALID' }
      : { ok: false, problem };
  }
  if (path === 'poll') {
    const problem = pollProblem(input, parsed.data as PollResult);
    if (problem !== null) return { ok: false, problem: `its poll answer ${problem}` };
  }
  if (path === 'sendMany') {
    const problem = sendManyProblem(input, parsed.data as SendManyResult);
    if (problem !== null) return { ok: false, problem: `its sendMany answer ${problem}` };
  }
  return { ok: true, data: parsed.data };
}

/**
 * PROTOCOL §10: a claim answer that hands out a prekey the protocol cannot hold (a key not 32
 * bytes, an id not 8, not base64url, not strings) hands out a forged one, as surely as one whose
 * signature fails. The sender refuses both alike (PREKEY_INVALID, nothing sent); only a claim the
 * relay does not serve (no prekey, an error, an answer broken elsewhere) falls back to v1, which
 * the relay could choose anyway by answering `null`.
 */
function handsOutMalformedPrekey(
  path: string,
  data: unknown,
  issues: readonly { readonly path: readonly PropertyKey[] }[],
): boolean {
  if (path !== 'directory.claimPrekey' || typeof data !== 'object' || data === null) return false;
  const { prekey } = data as { prekey?: unknown };
  return (
    prekey !== null && prekey !== undefined && issues.some((issue) => issue.path[0] === 'prekey')
  );
}

interface PollRequest {
  readonly after: string;
  readonly limit: number;
}

function pollRequest(input: unknown): PollRequest {
  const fields = (typeof input === 'object' && input !== null ? input : {}) as {
    after?: unknown;
    limit?: unknown;
  };
  const after =
    typeof fields.after === 'string' && messageIdSchema.safeParse(fields.after).success
      ? fields.after
      : '0-0';
  const limit = typeof fields.limit === 'number' ? fields.limit : PROTOCOL_LIMITS.pollLimitDefault;
  return { after, limit };
}

/**
 * PROTOCOL §3: messages strictly after `after` in increasing id order, at most `limit` of them,
 * and the cursor is the last one's id (or `after` when there are none). A relay that answers
 * otherwise could move a client's cursor backwards, past mail, or repeat messages.
 */
function pollProblem(input: unknown, result: PollResult): string | null {
  const { after, limit } = pollRequest(input);
  if (result.messages.length > limit) {
    return `holds ${result.messages.length} messages where at most ${limit} were asked for`;
  }
  let previous = after;
  for (const message of result.messages) {
    if (compareMessageIds(message.id, previous) <= 0) {
      return previous === after
        ? `holds message ${message.id}, not after the cursor ${after}`
        : `holds messages out of order or repeated (${message.id} after ${previous})`;
    }
    previous = message.id;
  }
  if (result.cursor !== previous) {
    return `moves the cursor to ${result.cursor} instead of ${previous}`;
  }
  return null;
}

/** The recipients a sendMany asked for, in order (what the caller's own input said). */
function sendManyRecipients(input: unknown): readonly unknown[] {
  const items =
    typeof input === 'object' && input !== null ? (input as { items?: unknown }).items : undefined;
  if (!Array.isArray(items)) return [];
  return items.map((item: unknown) =>
    typeof item === 'object' && item !== null ? (item as { to?: unknown }).to : undefined,
  );
}

/**
 * PROTOCOL §8: one result per item, in the items' order, each naming its item's recipient. A relay
 * that answers otherwise could have a client report one recipient's message as stored for another.
 */
function sendManyProblem(input: unknown, result: SendManyResult): string | null {
  const recipients = sendManyRecipients(input);
  if (result.results.length !== recipients.length) {
    return `holds ${result.results.length} results for ${recipients.length} recipients`;
  }
  for (const [index, item] of result.results.entries()) {
    if (item.to !== recipients[index]) {
      return `answers for "${item.to}" where recipient ${index + 1} is ${JSON.stringify(recipients[index])}`;
    }
  }
  return null;
}
