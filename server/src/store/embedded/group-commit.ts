// The main thread's side of the embedded store's writer thread: sends each write request, settles
// its promise with its own answer, and turns a dead thread into StoreUnavailableError instead of
// promises that never settle.
import { Worker } from 'node:worker_threads';
import { StoreUnavailableError, type StoreOptions } from '../mailbox-store.js';
import { fromSerializedError } from './store-errors.js';
import {
  isFromWriter,
  isResultOf,
  type GroupAnswer,
  type ToWriter,
  type WriteKind,
  type WriteReply,
  type WriteRequest,
  type WriteRequestOf,
  type WriteResults,
  type WriterData,
} from './write-requests.js';
import { writerWorkerFromSources } from './writer-from-sources.js';
import { createStartupWaiter } from './writer-startup.js';

interface Pending {
  settle(reply: WriteReply): void;
  fail(error: Error): void;
}

export interface WriterStats {
  /** Write requests answered. */
  readonly writes: number;
  /** Transactions committed; each is one fsync for a whole group of writes. */
  readonly commits: number;
}

/** Built, the relay runs `dist/**.js` and so does the worker; from sources, see writer-from-sources.ts. */
function startWorker(data: WriterData): Worker {
  const options = { workerData: data, transferList: [data.startup.errors] };
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./writer-worker.js', import.meta.url), options);
  return new Worker(writerWorkerFromSources(), { ...options, eval: true });
}

export class GroupCommitWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly exited: Promise<void>;
  private nextId = 0;
  private failed: StoreUnavailableError | undefined;
  private closing: Promise<void> | undefined;
  private answered = 0;
  private commits = 0;

  /** Returns once the thread is ready to write; throws when it cannot start. */
  constructor(dataDir: string, options: StoreOptions) {
    const startup = createStartupWaiter();
    this.worker = startWorker({ dataDir, options, startup: startup.signal });
    // An idle store must not keep the process alive (the synchronous store never did); it is
    // ref'd only while a write or the close is in flight.
    this.worker.unref();
    this.worker.on('message', (message: unknown) => {
      this.receive(message);
    });
    this.worker.on('error', (error) => {
      this.fail(new StoreUnavailableError('embedded store writer failed', { cause: error }));
    });
    this.worker.on('messageerror', (error) => {
      this.fail(new StoreUnavailableError('embedded store writer failed', { cause: error }));
      void this.worker.terminate();
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.fail(new StoreUnavailableError(`embedded store writer exited (code ${code})`));
        resolve();
      });
    });
    try {
      startup.wait();
    } catch (error) {
      void this.worker.terminate();
      throw error;
    }
  }

  /** Resolves once the request's group is committed (fsynced), with that request's own answer. */
  submit<K extends WriteKind>(request: WriteRequestOf<K> & WriteRequest): Promise<WriteResults[K]> {
    if (this.closing) return Promise.reject(new StoreUnavailableError('embedded store is closed'));
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId;
    this.nextId += 1;
    return new Promise<WriteResults[K]>((resolve, reject) => {
      this.pending.set(id, {
        settle: (reply) => {
          if (!reply.ok) reject(fromSerializedError(reply.error));
          else if (isResultOf(reply.result, request.kind)) resolve(reply.result.value);
          else reject(new Error(`writer answered ${reply.result.kind} to ${request.kind}`));
        },
        fail: reject,
      });
      if (this.pending.size === 1) this.worker.ref();
      try {
        this.worker.postMessage({ type: 'write', id, request } satisfies ToWriter);
      } catch (error) {
        this.forget(id);
        throw error;
      }
    });
  }

  /** Why writes are refused, once the thread has died; undefined while it is healthy. */
  get failure(): StoreUnavailableError | undefined {
    return this.failed;
  }

  stats(): WriterStats {
    return { writes: this.answered, commits: this.commits };
  }

  /** Answers every write already submitted, then stops the thread; later submits are refused. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.failed === undefined) {
      this.worker.ref();
      this.worker.postMessage({ type: 'close' } satisfies ToWriter);
    }
    await this.exited;
  }

  private receive(message: unknown): void {
    if (!isFromWriter(message)) {
      this.fail(new StoreUnavailableError('embedded store writer sent an unexpected message'));
      void this.worker.terminate();
      return;
    }
    if (message.type === 'closed') return;
    this.settleGroup(message);
  }

  private settleGroup(group: GroupAnswer): void {
    if (group.committed) this.commits += 1;
    for (const reply of group.replies) {
      const entry = this.pending.get(reply.id);
      if (entry === undefined) continue;
      this.forget(reply.id);
      this.answered += 1;
      entry.settle(reply);
    }
  }

  private forget(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0 && this.closing === undefined) this.worker.unref();
  }

  private fail(error: StoreUnavailableError): void {
    this.failed ??= error;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) entry.fail(this.failed);
  }
}
