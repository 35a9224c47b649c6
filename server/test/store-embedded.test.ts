// The conformance suite and embedded-only checks: file modes, WAL, and acknowledged appends
// surviving a SIGKILL. Every store gets its own data dir under one temporary folder.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createMailboxStore } from '../src/store/create-store.js';
import { DATABASE_FILE } from '../src/store/embedded/database.js';
import { EmbeddedMailboxStore } from '../src/store/embedded/embedded-mailbox-store.js';
import {
  StoreUnavailableError,
  compareMessageIds,
  type MailboxStore,
  type StoreOptions,
} from '../src/store/mailbox-store.js';
import { describeMailboxStore } from './store-conformance.js';
import {
  DEFAULT_OPTIONS,
  agentRecord,
  appendMany,
  expectStored,
  messageTo,
  registerNew,
  sleepUntil,
} from './store-conformance/fixtures.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/append-until-killed.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'dd-store-'));
const dataDirs = new WeakMap<MailboxStore, string>();
let storeCount = 0;

function nextDataDir(): string {
  storeCount += 1;
  return join(root, `store-${storeCount}`, 'data');
}

function dataDirOf(store: MailboxStore): string {
  const dataDir = dataDirs.get(store);
  if (dataDir === undefined) throw new Error('store not made by this suite');
  return dataDir;
}

function makeStore(options: StoreOptions, dataDir = nextDataDir()): EmbeddedMailboxStore {
  const store = EmbeddedMailboxStore.open(dataDir, options);
  dataDirs.set(store, dataDir);
  return store;
}

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describeMailboxStore('embedded', (options) => Promise.resolve(makeStore(options)), {
  async reopen(store, options) {
    await store.close();
    return makeStore(options, dataDirOf(store));
  },
  // The database file and its WAL, where a just-committed row lives until a checkpoint.
  rawContents: (store) => {
    const dir = dataDirOf(store);
    return Promise.resolve(
      readdirSync(dir)
        .map((name) => readFileSync(join(dir, name)).toString('latin1'))
        .join('\n'),
    );
  },
});

describe('EmbeddedMailboxStore', () => {
  it('keeps its folder 0700 and its files 0600, in WAL mode', async () => {
    const dataDir = nextDataDir();
    const store = makeStore(DEFAULT_OPTIONS, dataDir);
    try {
      await store.append(messageTo(await registerNew(store)));
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      for (const name of readdirSync(dataDir))
        expect(statSync(join(dataDir, name)).mode & 0o777).toBe(0o600);
      expect(readdirSync(dataDir)).toContain(`${DATABASE_FILE}-wal`);

      const peek = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
      expect(peek.pragma('journal_mode', { simple: true })).toBe('wal');
      peek.close();
    } finally {
      await store.close();
    }
  });

  it('reports a closed store as unavailable', async () => {
    const store = makeStore(DEFAULT_OPTIONS);
    await store.close();
    await expect(store.counts('someone')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it(
    'keeps every acknowledged append when the process is SIGKILLed',
    { tags: ['slow'] },
    async () => {
      const dataDir = nextDataDir();
      const record = agentRecord();
      const setup = makeStore(DEFAULT_OPTIONS, dataDir);
      await setup.register(record);
      await setup.close();

      const child = spawn(
        process.execPath,
        [
          '--conditions=@deaddrop/source',
          '--import',
          'tsx',
          CHILD,
          dataDir,
          record.agentId,
          '5000',
        ],
        {
          cwd: REPO_ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const acknowledged: string[] = [];
      let stderr = '';
      let partial = '';
      const killAfter = 40;
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (resolve, reject) => {
          child.stdout.setEncoding('utf8');
          child.stderr.setEncoding('utf8');
          child.stdout.on('data', (chunk: string) => {
            const lines = (partial + chunk).split('\n');
            partial = lines.pop() ?? '';
            acknowledged.push(...lines);
            if (acknowledged.length >= killAfter) child.kill('SIGKILL');
          });
          child.stderr.on('data', (chunk: string) => (stderr += chunk));
          child.on('error', reject);
          // 'close' rather than 'exit': it waits for stdout to drain, so every printed id is counted.
          child.on('close', (code, signal) => {
            resolve({ code, signal });
          });
        },
      );
      clearTimeout(timer);

      expect(ended.signal, stderr).toBe('SIGKILL');
      expect(acknowledged.length).toBeGreaterThanOrEqual(killAfter);

      const store = makeStore(DEFAULT_OPTIONS, dataDir);
      try {
        const ids: string[] = [];
        for (let page = 0; page < 60; page += 1) {
          const messages = await store.read(record.agentId, ids.at(-1) ?? '0-0', 100);
          if (messages.length === 0) break;
          ids.push(...messages.map((message) => message.id));
        }
        expect(ids).toEqual(expect.arrayContaining(acknowledged));
        expect([...ids].sort(compareMessageIds)).toEqual(ids);
        // At most the one append in flight when the kill landed is there without an acknowledgement.
        expect(ids.length - acknowledged.length).toBeLessThanOrEqual(1);
      } finally {
        await store.close();
      }
    },
  );

  it('is what createMailboxStore makes without a Redis URL', async () => {
    const store = await createMailboxStore({ ...DEFAULT_OPTIONS, dataDir: nextDataDir() });
    try {
      expect(store.kind).toBe('embedded');
      await store.ping();
    } finally {
      await store.close();
    }
  });
});

describe("EmbeddedMailboxStore's count of each mailbox's messages", () => {
  /** Each agent's kept count beside its rows in the file, by agent id. */
  function countsInFile(dataDir: string): Map<string, { kept: number; rows: number }> {
    const peek = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
    try {
      const rows = peek
        .prepare<[], { agent_id: string; kept: number; rows: number }>(
          `SELECT agent_id, message_count AS kept,
             (SELECT COUNT(*) FROM messages WHERE messages.agent_id = agents.agent_id) AS rows
           FROM agents`,
        )
        .all();
      return new Map(rows.map(({ agent_id, kept, rows }) => [agent_id, { kept, rows }]));
    } finally {
      peek.close();
    }
  }

  function expectCountsKept(dataDir: string, expected: ReadonlyMap<string, number>): void {
    const counts = countsInFile(dataDir);
    for (const [agentId, rows] of expected)
      expect(counts.get(agentId)).toEqual({ kept: rows, rows });
  }

  it('matches the rows through appends, refusals, deletes, expiry in an append, and sweeps', async () => {
    const dataDir = nextDataDir();
    const store = makeStore({ ttlSeconds: 1, maxMessages: 4 }, dataDir);
    try {
      const [full, deleting, swept] = await Promise.all([
        registerNew(store, 'full'),
        registerNew(store, 'deleting'),
        registerNew(store, 'swept'),
      ]);
      await appendMany(store, full, 4);
      expect(await store.append(messageTo(full))).toEqual({ status: 'full', count: 4 });
      const kept = await appendMany(store, deleting, 3);
      const first = kept[0]?.id ?? '';
      expect(await store.delete(deleting, [first, first, '9-9'])).toBe(1);
      expect(await store.delete(deleting, [first])).toBe(0);
      const last = (await appendMany(store, swept, 2)).at(-1);
      expectCountsKept(
        dataDir,
        new Map([
          [full, 4],
          [deleting, 2],
          [swept, 2],
        ]),
      );

      await sleepUntil(last?.expiresAt ?? Date.now() + 1_000);
      // The full mailbox's four expired messages leave in the append that needs their room.
      expectStored(await store.append(messageTo(full)));
      expectCountsKept(dataDir, new Map([[full, 1]]));
      expect(await store.sweepExpired()).toBe(4);
      expectCountsKept(
        dataDir,
        new Map([
          [full, 1],
          [deleting, 0],
          [swept, 0],
        ]),
      );
      await appendMany(store, swept, 4);
      expect(await store.append(messageTo(swept))).toEqual({ status: 'full', count: 4 });
    } finally {
      await store.close();
    }
  });

  /** A closed store's folder whose file holds `count` messages to one agent. */
  async function closedStoreHolding(
    options: StoreOptions,
    count: number,
  ): Promise<{ dataDir: string; agentId: string }> {
    const dataDir = nextDataDir();
    const store = makeStore(options, dataDir);
    const agentId = await registerNew(store);
    await appendMany(store, agentId, count);
    await store.close();
    return { dataDir, agentId };
  }

  /** Changes a closed store's file behind the store's back; `version` is its schema version. */
  function editFile(dataDir: string, edit: (file: Database.Database, version: number) => void) {
    const file = new Database(join(dataDir, DATABASE_FILE));
    try {
      edit(file, Number(file.pragma('user_version', { simple: true })));
    } finally {
      file.close();
    }
  }

  it('refuses a file a newer relay wrote, and leaves it as it was', async () => {
    const { dataDir, agentId } = await closedStoreHolding(DEFAULT_OPTIONS, 1);
    let version = 0;
    editFile(dataDir, (file, current) => {
      version = current;
      file.pragma(`user_version = ${version + 1}`);
    });

    expect(() => makeStore(DEFAULT_OPTIONS, dataDir)).toThrow(
      `the data file's schema is version ${version + 1}, newer than this relay's ${version}`,
    );
    const after = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
    expect(Number(after.pragma('user_version', { simple: true }))).toBe(version + 1);
    after.close();
    expectCountsKept(dataDir, new Map([[agentId, 1]]));
  });

  it('counts what a file from before the count held, once, when the store opens it', async () => {
    const options = { ttlSeconds: 3600, maxMessages: 3 };
    const { dataDir, agentId } = await closedStoreHolding(options, 2);
    // Back to the schema before the count: no column, and the previous schema version.
    editFile(dataDir, (file, version) => {
      file.exec('ALTER TABLE agents DROP COLUMN message_count');
      file.pragma(`user_version = ${version - 1}`);
    });

    const after = makeStore(options, dataDir);
    try {
      expectCountsKept(dataDir, new Map([[agentId, 2]]));
      expectStored(await after.append(messageTo(agentId)));
      expect(await after.append(messageTo(agentId))).toEqual({ status: 'full', count: 3 });
    } finally {
      await after.close();
    }
  });
});
