// The embedded store's group commit: writes share transactions, commits happen off the event loop,
// one request's failure stays its own, close() answers what is in flight, a dead writer thread
// fails writes instead of hanging them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sha256Hex } from '@deaddrop/contract';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openReadConnection, openWriteConnection } from '../src/store/embedded/database.js';
import { EmbeddedMailboxStore } from '../src/store/embedded/embedded-mailbox-store.js';
import { createGroupCommitter } from '../src/store/embedded/group-transaction.js';
import { MailboxWrites } from '../src/store/embedded/mailbox-writes.js';
import type { WriteMessage, WriteRequest } from '../src/store/embedded/write-requests.js';
import {
  StoreUnavailableError,
  compareMessageIds,
  type AppendOutcome,
  type StoreOptions,
} from '../src/store/mailbox-store.js';
import {
  DEFAULT_OPTIONS,
  agentRecord,
  appendMany,
  expectStored,
  messageTo,
  newAgentId,
  registerNew,
  sleep,
} from './store-conformance/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'dd-group-commit-'));
let dirCount = 0;
const opened: EmbeddedMailboxStore[] = [];

function nextDataDir(): string {
  dirCount += 1;
  return join(root, `store-${dirCount}`);
}

function open(options: StoreOptions = DEFAULT_OPTIONS, dataDir = nextDataDir()) {
  const store = EmbeddedMailboxStore.open(dataDir, options);
  opened.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('EmbeddedMailboxStore group commit', () => {
  it('commits 200 concurrent appends to 20 mailboxes in far fewer transactions, ids monotonic', async () => {
    const store = open();
    const agents = await Promise.all(Array.from({ length: 20 }, () => registerNew(store)));
    const before = store.stats();

    const sends = Array.from({ length: 200 }, (_, index) => {
      const agentId = agents[index % agents.length] ?? '';
      return { agentId, outcome: store.append(messageTo(agentId)) };
    });
    const stored = await Promise.all(
      sends.map(async ({ agentId, outcome }) => ({
        agentId,
        id: expectStored(await outcome).id,
      })),
    );

    const after = store.stats();
    expect(after.writes - before.writes).toBe(200);
    // Nearly all 200 were queued before the first commit ended; a handful of groups at most.
    expect(after.commits - before.commits).toBeLessThanOrEqual(20);

    for (const agentId of agents) {
      // In the order they were sent, as the writer takes them in order.
      const acknowledged = stored.filter((send) => send.agentId === agentId).map(({ id }) => id);
      expect(acknowledged).toHaveLength(10);
      for (const [index, id] of acknowledged.entries()) {
        const previous = acknowledged[index - 1];
        if (previous !== undefined) expect(compareMessageIds(previous, id)).toBeLessThan(0);
      }
      const read = await store.read(agentId, '0-0', 100);
      expect(read.map((message) => message.id)).toEqual(acknowledged);
    }
  });

  it('keeps the event loop responsive while 300 appends commit', async () => {
    const store = open();
    const agents = await Promise.all(Array.from({ length: 10 }, () => registerNew(store)));
    const before = store.stats();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    // The histogram measures from its first tick; let it take one before the writes start.
    await sleep(30);

    // Ten senders, 30 appends each, one at a time: many commits, each an fsync. Done on the event
    // loop, 300 fsyncs would block it for their whole sum.
    await Promise.all(agents.map((agentId) => appendMany(store, agentId, 30)));
    await sleep(30);
    delay.disable();

    const commits = store.stats().commits - before.commits;
    expect(commits).toBeGreaterThanOrEqual(30);
    expect(delay.max / 1e6).toBeLessThan(100);
  });

  it('answers each request of a group on its own: failures and refusals stay theirs', async () => {
    const store = open({ ttlSeconds: 3600, maxMessages: 4 });
    const full = await registerNew(store, 'full');
    const open_ = await registerNew(store, 'open');
    await appendMany(store, full, 4);
    const reused = messageTo(open_);
    const first = expectStored(await store.append(reused));
    const other = messageTo(open_).ciphertext;
    // A fractional byte count breaks the STRICT table's INTEGER column at the INSERT, after the
    // request already trimmed its mailbox: its savepoint must undo that, and only that.
    const broken = messageTo(open_, { bytes: 1.5 });

    const outcomes = await Promise.allSettled([
      store.append(messageTo(newAgentId())),
      store.append(messageTo(open_)),
      store.append(messageTo(full)),
      store.append(broken),
      store.append({ ...reused, ciphertext: other, ciphertextHash: sha256Hex(other) }),
      store.append(messageTo(open_)),
    ]);

    const [unknown, sent, refused, failed, conflict, sentToo] = outcomes;
    expect(unknown).toEqual({ status: 'fulfilled', value: { status: 'no-mailbox' } });
    expect(refused).toEqual({ status: 'fulfilled', value: { status: 'full', count: 4 } });
    expect(conflict).toEqual({ status: 'fulfilled', value: { status: 'conflict' } });
    expect(failed.status).toBe('rejected');
    if (failed.status === 'rejected') {
      expect(failed.reason).toBeInstanceOf(Error);
      expect(failed.reason).not.toBeInstanceOf(StoreUnavailableError);
    }
    const ids = [sent, sentToo].map((outcome) => {
      if (outcome.status !== 'fulfilled') throw new Error('expected a stored append');
      return expectStored(outcome.value).id;
    });
    expect((await store.read(open_, '0-0', 10)).map((message) => message.id)).toEqual([
      first.id,
      ...ids,
    ]);
    // The failed request left no idempotency record behind: its key is free.
    expectStored(await store.append({ ...broken, bytes: 200 }));
  });

  it('answers each request of one transaction on its own, rolling back only the failed one', () => {
    const dataDir = nextDataDir();
    openReadConnection(dataDir).close();
    const writes = new MailboxWrites(openWriteConnection(dataDir), DEFAULT_OPTIONS);
    try {
      const commitGroup = createGroupCommitter(writes);
      const record = agentRecord();
      const requests: WriteRequest[] = [
        { kind: 'register', record },
        { kind: 'append', input: messageTo(record.agentId) },
        { kind: 'append', input: messageTo(record.agentId, { bytes: 0.5 }) },
        { kind: 'append', input: messageTo(newAgentId()) },
        {
          kind: 'use-nonce',
          agentId: record.agentId,
          nonce: 'n',
          agentKey: record.agentKey,
          keepForMs: 60_000,
        },
        { kind: 'append', input: messageTo(record.agentId) },
      ];
      const group: WriteMessage[] = requests.map((request, id) => ({ type: 'write', id, request }));

      const answer = commitGroup(group);
      expect(answer.committed).toBe(true);
      expect(answer.replies.map((reply) => reply.id)).toEqual([0, 1, 2, 3, 4, 5]);
      const [registered, sent, failed, unknown, nonce, sentToo] = answer.replies;
      const sentId = (reply: unknown): string | undefined =>
        (reply as { result?: { value?: { outcome?: { id?: string } } } }).result?.value?.outcome
          ?.id;
      expect(registered).toMatchObject({ ok: true, result: { value: { status: 'created' } } });
      expect(sent).toMatchObject({
        ok: true,
        result: { value: { outcome: { status: 'stored' }, after: '0-0' } },
      });
      expect(failed).toMatchObject({ ok: false, error: { code: 'SQLITE_CONSTRAINT_DATATYPE' } });
      expect(unknown).toMatchObject({
        ok: true,
        result: { value: { outcome: { status: 'no-mailbox' } } },
      });
      expect(nonce).toMatchObject({ ok: true, result: { value: 'fresh' } });
      // The failed request in between was rolled back, so the first message is the newest before.
      expect(sentToo).toMatchObject({
        ok: true,
        result: { value: { outcome: { status: 'stored' }, after: sentId(sent) } },
      });
      const count = writes.db
        .prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM messages WHERE agent_id = ?')
        .get(record.agentId);
      expect(count?.n).toBe(2);
    } finally {
      writes.db.close();
    }
  });

  it('answers the writes in flight before close() resolves', async () => {
    const dataDir = nextDataDir();
    const store = open(DEFAULT_OPTIONS, dataDir);
    const agentId = await registerNew(store);
    const inFlight = Array.from({ length: 100 }, () => store.append(messageTo(agentId)));
    await store.close();

    const outcomes = await Promise.all(inFlight);
    expect(outcomes.every((outcome) => outcome.status === 'stored')).toBe(true);
    await expect(store.append(messageTo(agentId))).rejects.toBeInstanceOf(StoreUnavailableError);

    const reopened = open(DEFAULT_OPTIONS, dataDir);
    expect((await reopened.counts(agentId)).count).toBe(100);
  });

  it('fails pending and later writes as unavailable when the writer thread dies', async () => {
    const store = open();
    const agentId = await registerNew(store);
    const pending: Promise<AppendOutcome>[] = Array.from({ length: 20 }, () =>
      store.append(messageTo(agentId)),
    );
    // Stands in for a crash: the thread stops without answering.
    await store['writer']['worker'].terminate();

    const settled = await Promise.allSettled(pending);
    for (const outcome of settled) {
      if (outcome.status === 'rejected') {
        expect(outcome.reason).toBeInstanceOf(StoreUnavailableError);
      }
    }
    await expect(store.append(messageTo(agentId))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.register(agentRecord())).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    // Reads still answer from the read connection; close() does not hang.
    expect(await store.lookup(agentId)).not.toBeNull();
    await store.close();
  });
});
