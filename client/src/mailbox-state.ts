// The client's per-agent state file (`agents/<agentId>.state.json`): the poll cursor for each relay
// and the replay cache of seen inner ids, pruned on every save and kept across runs.
import { messageIdSchema, relayIdSchema, timestampSchema } from '@deaddrop/contract';
import { z } from 'zod';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';
import { DeadDropError } from './errors.js';
import { ensureHome, stateFilePath } from './home.js';
import { isUnreadable, type InboxEntry } from './inbox-entry.js';
import { jsonObjectMap, mapToJsonObject } from './json-map.js';
import { MessageMemory, deliveryListSchema, recentListSchema } from './message-memory.js';
import { receiptEventOf } from './receipts/receipt-event.js';
import { compareMessageIds } from './message-id.js';
import { ReplayCache } from './replay-cache.js';

const stateFileSchema = z.object({
  v: z.literal(1),
  /** Cursor per relay id: a cursor from one relay means nothing on another. */
  cursors: jsonObjectMap(relayIdSchema, messageIdSchema).default(new Map()),
  /**
   * Inner message id → its `sentAt` (ms). Files written before v1.1 of the SDK hold the time an
   * id would be forgotten instead, a later time, which only keeps those ids a little longer.
   */
  seen: jsonObjectMap(z.string().max(64), timestampSchema).default(new Map()),
  /** Messages sent at or before this were forgotten: any such message is refused as stale. */
  forgottenThrough: timestampSchema.default(0),
  /** The last messages received (for replies by id) and receipt-requesting sends (v1.1 SDK). */
  recent: recentListSchema.default([]),
  deliveries: deliveryListSchema.default([]),
});

export const INITIAL_CURSOR = '0-0';

export class MailboxState {
  readonly #cursors: Map<string, string>;
  readonly seen: ReplayCache;
  readonly memory: MessageMemory;

  constructor(
    cursors: Iterable<readonly [string, string]> = [],
    seen = new ReplayCache(),
    memory = new MessageMemory(),
  ) {
    this.#cursors = new Map(cursors);
    this.seen = seen;
    this.memory = memory;
  }

  cursor(relayId: string): string {
    return this.#cursors.get(relayId) ?? INITIAL_CURSOR;
  }

  setCursor(relayId: string, cursor: string): void {
    this.#cursors.set(relayId, cursor);
  }

  /** Moves the cursor forward to `id`, never back (another reader may already be further on). */
  advanceCursor(relayId: string, id: string): void {
    if (compareMessageIds(id, this.cursor(relayId)) > 0) this.#cursors.set(relayId, id);
  }

  /** Entries handed to the caller, in order: their ids are seen, the cursor moves past the last. */
  recordDelivered(relayId: string, delivered: readonly InboxEntry[], now: number): void {
    for (const entry of delivered) {
      if (isUnreadable(entry)) continue;
      this.seen.remember(entry.uid, entry.sentAt, now);
      const receipt = receiptEventOf(entry);
      if (receipt === null) this.memory.received(entry);
      else this.memory.receipt(receipt);
    }
    const last = delivered.at(-1);
    if (last !== undefined) this.advanceCursor(relayId, last.id);
  }

  toJSON(): Record<string, unknown> {
    return {
      v: 1,
      cursors: mapToJsonObject(this.#cursors),
      seen: mapToJsonObject(new Map(this.seen.entries())),
      forgottenThrough: this.seen.forgottenThrough,
      ...this.memory.toJSON(),
    };
  }
}

export async function loadMailboxState(home: string, agentId: string): Promise<MailboxState> {
  const path = stateFilePath(home, agentId);
  let json: unknown;
  try {
    json = await readJsonFile(path);
  } catch {
    throw corrupt(path);
  }
  if (json === undefined) return new MailboxState();
  const parsed = stateFileSchema.safeParse(json);
  if (!parsed.success) throw corrupt(path);
  return new MailboxState(
    parsed.data.cursors,
    new ReplayCache(parsed.data.seen, parsed.data.forgottenThrough),
    new MessageMemory(parsed.data.recent, parsed.data.deliveries),
  );
}

/**
 * Prunes the replay cache of ids past the freshness window (`windowMs`), then writes the file
 * atomically (mode 0600).
 */
export async function saveMailboxState(
  home: string,
  agentId: string,
  state: MailboxState,
  now: number,
  windowMs: number,
): Promise<void> {
  state.seen.prune(now, windowMs);
  await ensureHome(home);
  await writeFileAtomic(stateFilePath(home, agentId), `${JSON.stringify(state.toJSON())}\n`);
}

function corrupt(path: string): DeadDropError {
  return new DeadDropError(
    'IDENTITY_CORRUPT',
    `${path} is not a valid DeadDrop state file; move it aside to start over (messages already seen may then be shown again)`,
  );
}
