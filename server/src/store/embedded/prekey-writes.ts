// One-time prekeys on the embedded store (PROTOCOL §10), run by the writer thread: it is the only
// writer, so each publish and each claim is atomic without further locking, and a claim's delete
// is committed before its answer leaves the thread — no prekey is ever handed out twice. Both read
// the agent's row in the same step: a publish stores only under the key its prekeys were verified
// with (a rotation since deleted what its old key signed), and a claim for an agent the store
// does not hold is told apart from one with none left.
import type Database from 'better-sqlite3';
import type { ClaimedPrekey, PublishPrekeysOutcome, StoredPrekey } from '../mailbox-store.js';

type Statement<Params extends unknown[], Row = unknown> = Database.Statement<Params, Row>;

interface PrekeyRow {
  readonly position: number;
  readonly prekey_id: string;
  readonly prekey_key: string;
  readonly sig: string;
}

interface PrekeyStatements {
  readonly agentKey: Statement<[string], { agent_key: string }>;
  readonly count: Statement<[string], { n: number }>;
  readonly held: Statement<[string, string, string], { held: number }>;
  readonly insert: Statement<[string, string, string, string]>;
  readonly oldest: Statement<[string], PrekeyRow>;
  readonly remove: Statement<[number]>;
}

const COUNT = 'SELECT COUNT(*) AS n FROM prekeys WHERE agent_id = ?';

/** The main thread's count for `stats` (a read; the writer's commits are what it sees). */
export function preparePrekeyCount(db: Database.Database): Statement<[string], { n: number }> {
  return db.prepare<[string], { n: number }>(COUNT);
}

export class PrekeyWrites {
  private readonly sql: PrekeyStatements;

  constructor(db: Database.Database) {
    this.sql = {
      agentKey: db.prepare<[string], { agent_key: string }>(
        'SELECT agent_key FROM agents WHERE agent_id = ?',
      ),
      count: db.prepare<[string], { n: number }>(COUNT),
      held: db.prepare<[string, string, string], { held: number }>(
        `SELECT EXISTS (SELECT 1 FROM prekeys WHERE agent_id = ?
           AND (prekey_id = ? OR prekey_key = ?)) AS held`,
      ),
      insert: db.prepare<[string, string, string, string]>(
        'INSERT INTO prekeys (agent_id, prekey_id, prekey_key, sig) VALUES (?, ?, ?, ?)',
      ),
      // `position` only grows within an agent's rows (rows leave from the oldest end), so the
      // least is the oldest.
      oldest: db.prepare<[string], PrekeyRow>(
        `SELECT position, prekey_id, prekey_key, sig FROM prekeys WHERE agent_id = ?
           ORDER BY position LIMIT 1`,
      ),
      remove: db.prepare<[number]>('DELETE FROM prekeys WHERE position = ?'),
    };
  }

  /** All or nothing, checked before the first insert: the writer's transaction stays clean. */
  publish(
    agentId: string,
    prekeys: readonly StoredPrekey[],
    max: number,
    agentKey: string,
  ): PublishPrekeysOutcome {
    const agent = this.sql.agentKey.get(agentId);
    if (agent === undefined) return { status: 'no-agent' };
    if (agent.agent_key !== agentKey) return { status: 'key-changed' };
    const total = this.count(agentId);
    if (total + prekeys.length > max) return { status: 'full', total };
    const seen = new Set<string>();
    for (const prekey of prekeys) {
      if (seen.has(prekey.id) || seen.has(prekey.key))
        return { status: 'duplicate', id: prekey.id };
      seen.add(prekey.id);
      seen.add(prekey.key);
      if (this.sql.held.get(agentId, prekey.id, prekey.key)?.held === 1) {
        return { status: 'duplicate', id: prekey.id };
      }
    }
    for (const prekey of prekeys) this.sql.insert.run(agentId, prekey.id, prekey.key, prekey.sig);
    return { status: 'stored', stored: prekeys.length, total: total + prekeys.length };
  }

  claim(agentId: string): ClaimedPrekey | null {
    if (this.sql.agentKey.get(agentId) === undefined) return null;
    const row = this.sql.oldest.get(agentId);
    if (row === undefined) return { prekey: null, remaining: 0 };
    this.sql.remove.run(row.position);
    return {
      prekey: { id: row.prekey_id, key: row.prekey_key, sig: row.sig },
      remaining: this.count(agentId),
    };
  }

  private count(agentId: string): number {
    return this.sql.count.get(agentId)?.n ?? 0;
  }
}
