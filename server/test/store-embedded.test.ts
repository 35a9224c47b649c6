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
  messageTo,
  registerNew,
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
