// One group of write requests as one transaction: one BEGIN IMMEDIATE … COMMIT, so one fsync,
// with each request in its own SAVEPOINT so that its failure undoes its own writes only.
import { serializeError } from './store-errors.js';
import type { MailboxWrites } from './mailbox-writes.js';
import type { GroupAnswer, WriteMessage, WriteReply, WriteRequest } from './write-requests.js';

export type GroupCommitter = (group: readonly WriteMessage[]) => GroupAnswer;

function failedGroup(group: readonly WriteMessage[], error: unknown): GroupAnswer {
  const serialized = serializeError(error);
  return {
    type: 'group',
    committed: false,
    replies: group.map(({ id }) => ({ id, ok: false, error: serialized })),
  };
}

export function createGroupCommitter(writes: MailboxWrites): GroupCommitter {
  const { db } = writes;
  // Called inside the group's transaction, better-sqlite3 runs this as a SAVEPOINT … RELEASE, and
  // rolls back to the savepoint when the request throws.
  const applyInSavepoint = db.transaction((request: WriteRequest) => writes.apply(request));
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');

  return (group) => {
    try {
      begin.run();
    } catch (error) {
      return failedGroup(group, error);
    }
    const replies: WriteReply[] = [];
    for (const { id, request } of group) {
      try {
        replies.push({ id, ok: true, result: applyInSavepoint(request) });
      } catch (error) {
        // Some failures (disk full, I/O) make SQLite roll back the whole transaction, taking the
        // group's earlier writes with it: none of them may be acknowledged.
        if (!db.inTransaction) return failedGroup(group, error);
        replies.push({ id, ok: false, error: serializeError(error) });
      }
    }
    try {
      commit.run();
    } catch (error) {
      // A ROLLBACK that fails too leaves the connection unusable: it throws, the thread dies,
      // and the main thread reports the store unavailable.
      if (db.inTransaction) rollback.run();
      return failedGroup(group, error);
    }
    return { type: 'group', committed: true, replies };
  };
}
