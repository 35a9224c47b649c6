// The client's per-agent state file (`agents/<agentId>.state.json`): the poll cursor for each relay
// and the replay cache of seen inner ids, pruned on every save and kept across runs.
import { messageIdSchema } from '@deaddrop/contract';
import { z } from 'zod';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';
import { DeadDropError } from './errors.js';
import { ensureHome, stateFilePath } from './home.js';
import { isUnreadable, type InboxEntry } from './inbox-entry.js';
import { compareMessageIds } from './message-id.js';
import { ReplayCache } from './replay-cache.js';

const stateFileSchema = z.object({
  v: z.literal(1),
  /** Cursor per relay id: a cursor from one relay means nothing on another. */
  cursors: z.record(z.string(), messageIdSchema).default({}),
  /** Inner message id → until when (ms) it is remembered. */
  seen: z.record(z.string(), z.number()).default({}),
});

export const INITIAL_CURSOR = '0-0';

export class MailboxState {
  readonly #cursors: Map<string, string>;
  readonly seen: ReplayCache;

  constructor(cursors: Iterable<readonly [string, string]> = [], seen = new ReplayCache()) {
    this.#cursors = new Map(cursors);
    this.seen = seen;
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
  recordDelivered(
    relayId: string,
    delivered: readonly InboxEntry[],
    ttlSeconds: number,
    now: number,
  ): void {
    for (const entry of delivered) {
      if (!isUnreadable(entry)) this.seen.remember(entry.uid, entry.sentAt, ttlSeconds, now);
    }
    const last = delivered.at(-1);
    if (last !== undefined) this.advanceCursor(relayId, last.id);
  }

  toJSON(): z.input<typeof stateFileSchema> {
    return { v: 1, cursors: Object.fromEntries(this.#cursors), seen: this.seen.toJSON() };
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
    Object.entries(parsed.data.cursors),
    new ReplayCache(Object.entries(parsed.data.seen)),
  );
}

/** Prunes the replay cache, then writes the file atomically (mode 0600). */
export async function saveMailboxState(
  home: string,
  agentId: string,
  state: MailboxState,
  now: number,
): Promise<void> {
  state.seen.prune(now);
  await ensureHome(home);
  await writeFileAtomic(stateFilePath(home, agentId), `${JSON.stringify(state.toJSON())}\n`);
}

function corrupt(path: string): DeadDropError {
  return new DeadDropError(
    'IDENTITY_CORRUPT',
    `${path} is not a valid DeadDrop state file; move it aside to start over (messages already seen may then be shown again)`,
  );
}
