// The embedded store's writer thread. It owns the one writing connection and commits whatever
// requests queued up while the previous commit was being fsynced as one transaction, so a burst of
// sends costs one fsync per group rather than one each, and none on the main thread's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { openWriteConnection } from './database.js';
import { createGroupCommitter } from './group-transaction.js';
import { MailboxWrites } from './mailbox-writes.js';
import {
  isToWriter,
  isWriterData,
  type FromWriter,
  type WriteMessage,
  type WriterData,
} from './write-requests.js';
import { reportFailed, reportStarted } from './writer-startup.js';

function readWriterData(): WriterData {
  const data: unknown = workerData;
  if (!isWriterData(data)) throw new TypeError('writer-worker: unexpected workerData');
  return data;
}

function connect({ dataDir, options, startup }: WriterData): MailboxWrites | undefined {
  try {
    return new MailboxWrites(openWriteConnection(dataDir), options);
  } catch (error) {
    // `open` on the main thread throws this; the thread then ends with nothing left to run.
    reportFailed(startup, error);
    return undefined;
  }
}

if (parentPort === null) throw new Error('writer-worker runs as a worker thread only');
const port = parentPort;
const data = readWriterData();
const writes = connect(data) ?? process.exit(1);
const commitGroup = createGroupCommitter(writes);

let queue: WriteMessage[] = [];
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  if (queue.length === 0) return;
  const group = queue;
  queue = [];
  port.postMessage(commitGroup(group));
}

port.on('message', (message: unknown) => {
  if (!isToWriter(message)) throw new TypeError('writer-worker: unexpected message');
  if (message.type === 'close') {
    // Messages arrive in order, so every write sent before `close` is queued or answered.
    flush();
    writes.db.close();
    port.postMessage({ type: 'closed' } satisfies FromWriter);
    port.close();
    return;
  }
  queue.push(message);
  // setImmediate runs once the messages that arrived during the last commit have all been
  // delivered, so they form the next group.
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
});

reportStarted(data.startup);
