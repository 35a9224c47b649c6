// The secrets of this agent's one-time prekeys (PROTOCOL §10): `agents/<agentId>.prekeys.json`,
// 0600, written atomically. Forward secrecy rests on one property: once a v2 message is opened,
// the secret its prekey names is gone from disk before the message is handed over, so the
// identity seed and these files can never open it again. Every change is therefore a
// read-modify-write of the whole file under a lock (another process of the same agent — the CLI
// beside an MCP server — may change it too): a lost update could bring a deleted secret back.
import { rename } from 'node:fs/promises';
import { z } from 'zod';
import { b64uSchema } from '@deaddrop/contract';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';
import { withFileLock } from './file-lock.js';
import { prekeysFilePath } from './home.js';

/** One prekey this agent published (or is about to), with the secret that opens mail sealed to it. */
export interface KeptPrekey {
  /** 8 random bytes, b64u: what a v2 envelope names. */
  readonly id: string;
  /** The X25519 public key published (b64u). */
  readonly key: string;
  /** Its X25519 secret key (32 bytes, b64u). */
  readonly secretKey: string;
  readonly createdAt: number;
}

/**
 * Most secrets kept. The relay holds at most 200 published prekeys per agent; the rest are claimed
 * ones whose message has not been opened yet, or ones a relay forgot (a lost store) — kept a while
 * in case their mail still comes, the oldest dropped first beyond this bound.
 */
export const MAX_PREKEY_SECRETS = 1_000;
/** A claimed prekey's message arrives within the relay's message TTL; this is far beyond any. */
export const PREKEY_SECRET_MAX_AGE_MS = 90 * 24 * 60 * 60_000;
/**
 * Used prekey ids remembered, so a second copy of a message already read is told apart from one
 * sealed to a prekey this agent never had (`replayed`, not `prekey-unknown`).
 */
const MAX_USED_IDS = 1_000;

const prekeySecretSchema = z.object({
  id: b64uSchema(8, 'prekey id'),
  key: b64uSchema(32, 'prekey'),
  secretKey: b64uSchema(32, 'prekey secret'),
  createdAt: z.number().int().nonnegative(),
});

const prekeyFileSchema = z.object({
  v: z.literal(1),
  agentId: z.string(),
  prekeys: z.array(prekeySecretSchema).max(MAX_PREKEY_SECRETS * 2),
  /** Ids of prekeys whose message was read (public, like the envelope that names them). */
  used: z
    .array(b64uSchema(8, 'prekey id'))
    .max(MAX_USED_IDS * 2)
    .default([]),
});

interface PrekeyFile {
  readonly secrets: KeptPrekey[];
  readonly used: string[];
  readonly corrupt: boolean;
}

export class PrekeySecrets {
  readonly #path: string;
  readonly #agentId: string;
  readonly #now: () => number;

  constructor(home: string, agentId: string, now: () => number = Date.now) {
    this.#path = prekeysFilePath(home, agentId);
    this.#agentId = agentId;
    this.#now = now;
  }

  /** Every secret kept, oldest first. */
  async list(): Promise<KeptPrekey[]> {
    return (await this.#read()).secrets;
  }

  /** The secret for prekey `id`, or undefined when it was never ours or is already used. */
  async find(id: string): Promise<KeptPrekey | undefined> {
    return (await this.#read()).secrets.find((secret) => secret.id === id);
  }

  /** Whether prekey `id`'s message was read already (its secret removed by `use`). */
  async wasUsed(id: string): Promise<boolean> {
    return (await this.#read()).used.includes(id);
  }

  /** Adds secrets (before their prekeys are published, so no claimed prekey lacks its secret). */
  add(secrets: readonly KeptPrekey[]): Promise<void> {
    return this.#change((kept, used) => {
      const known = new Set(kept.map((secret) => secret.id));
      return { secrets: [...kept, ...secrets.filter((secret) => !known.has(secret.id))], used };
    });
  }

  /**
   * Deletes the secrets of prekeys `ids` (their messages were read and recorded as seen), durably:
   * the file is synced and renamed into place before this resolves. The ids are remembered.
   */
  use(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    const gone = new Set(ids);
    return this.#change((kept, used) => ({
      secrets: kept.filter((secret) => !gone.has(secret.id)),
      used: [...used.filter((id) => !gone.has(id)), ...gone],
    }));
  }

  /** One read-modify-write under the file's lock; also drops what is too old or beyond the bounds. */
  #change(
    edit: (kept: KeptPrekey[], used: string[]) => { secrets: KeptPrekey[]; used: string[] },
  ): Promise<void> {
    return withFileLock(
      this.#path,
      async () => {
        const { secrets, used, corrupt } = await this.#read();
        const oldest = this.#now() - PREKEY_SECRET_MAX_AGE_MS;
        const next = edit(secrets, used);
        const file = {
          v: 1,
          agentId: this.#agentId,
          prekeys: next.secrets
            .filter((secret) => secret.createdAt >= oldest)
            .slice(-MAX_PREKEY_SECRETS),
          used: next.used.slice(-MAX_USED_IDS),
        };
        // A file we could not read is kept aside, not overwritten: it may hold secrets still owed.
        if (corrupt) await rename(this.#path, `${this.#path}.corrupt-${this.#now()}`);
        await writeFileAtomic(this.#path, `${JSON.stringify(file, null, 2)}\n`);
      },
      { holder: `other DeadDrop process of "${this.#agentId}"` },
    );
  }

  /** The file's contents; a missing file is empty, an unreadable one is empty and `corrupt`. */
  async #read(): Promise<PrekeyFile> {
    const empty = (corrupt: boolean): PrekeyFile => ({ secrets: [], used: [], corrupt });
    let json: unknown;
    try {
      json = await readJsonFile(this.#path);
    } catch (error) {
      if (error instanceof SyntaxError) return empty(true);
      throw error;
    }
    if (json === undefined) return empty(false);
    const parsed = prekeyFileSchema.safeParse(json);
    if (!parsed.success || parsed.data.agentId !== this.#agentId) return empty(true);
    return { secrets: parsed.data.prekeys, used: parsed.data.used, corrupt: false };
  }
}
