// A relay for tests that speaks DeadDrop's wire format (tRPC v11 over HTTP with superjson, the
// inbox over SSE) exactly as the real relay does, honest by default, and misbehaves on purpose
// per procedure when a test asks: wrong data, errors, silence, endless answers, raw bytes, scripted
// SSE streams. In memory, loopback only; close() ends every request still hanging.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  DEFAULT_LIMITS,
  type AgentRecord,
  type Limits,
  type ProcedurePath,
  type StoredMessage,
} from '@deaddrop/contract';
import type {
  BehaviourFor,
  CallPath,
  InboxBehaviour,
  RecordedCall,
} from './hostile-relay-behaviours.js';
import { serveCalls, type StoredCallBehaviour } from './hostile-relay-calls.js';
import { errorEnvelope, trpcFault } from './hostile-relay-errors.js';
import { serveInbox } from './hostile-relay-sse.js';
import { HonestRelayState, type AppendOptions } from './hostile-relay-state.js';

export type * from './hostile-relay-behaviours.js';
export { relayFault } from './hostile-relay-errors.js';
export type { AppendOptions } from './hostile-relay-state.js';

const PREFIX = '/trpc/';
/** Recorded calls kept, the latest: enough for any test, bounded for a long one. */
const MAX_RECORDED_CALLS = 10_000;

export interface HostileRelayOptions {
  /** Default `hostile-relay`. */
  readonly relayId?: string;
  /** What `info` reports as the version (default `0.1.0-hostile`). */
  readonly version?: string;
  /** Over DEFAULT_LIMITS; must be valid limits (a behaviour on `info` can claim anything). */
  readonly limits?: Partial<Limits>;
  /** Between pings on an honest SSE stream (default 3 s). */
  readonly pingIntervalMs?: number;
  /** The `retry:` line of the SSE preamble (default 1 s). */
  readonly sseRetryMs?: number;
  /** `reconnectAfterInactivityMs` in the SSE `connected` event (default 40 s, as the relay). */
  readonly reconnectAfterInactivityMs?: number;
  /** Between chunks of a `trickle` answer, unless it says otherwise (default 1 s). */
  readonly trickleIntervalMs?: number;
}

/**
 * A running hostile relay. For example:
 *
 * ```ts
 * const relay = await startHostileRelay();
 * relay.misbehave('poll', async (call) => {
 *   const honest = await call.honest();
 *   return 'data' in honest ? { data: { ...honest.data, cursor: '../../x' } } : honest;
 * });
 * relay.misbehave('inbox', () => ({ events: [{ raw: 'data: {oops\n\n' }], then: 'honest' }));
 * ```
 */
export interface HostileRelay {
  /** Base URL, e.g. http://127.0.0.1:43121; tRPC is at `${url}/trpc`. */
  readonly url: string;
  readonly relayId: string;
  /** The honest limits now (what `info` and `stats` report unless told otherwise). */
  readonly limits: Limits;
  /** Every call received so far (the latest 10 000), oldest first; each call of a batch apart. */
  readonly calls: readonly RecordedCall[];
  /** SSE inbox streams open now (scripted or honest). */
  readonly openStreams: number;
  /** Sets a directory entry directly (no HTTP, no checks): seeds an agent, or swaps its key. */
  registerAgent(agentId: string, agentKey: string): AgentRecord;
  /**
   * Stores a message directly (no checks, no quota) and wakes long-polls and live streams of that
   * mailbox. `id` may be any message id, repeated or lower than earlier ones; the ids generated
   * afterwards stay above every id seen. Live streams get each delivery as it comes, whatever its id.
   */
  deliver(agentId: string, ciphertext: string, options?: AppendOptions): StoredMessage;
  /** The unexpired messages of a mailbox, in stored order. */
  mailbox(agentId: string): readonly StoredMessage[];
  /** Changes the honest limits from the next call on (ttlSeconds between calls, say). */
  setLimits(patch: Partial<Limits>): void;
  /** Answers `path` with `behaviour` from now on; undefined makes it honest again. */
  misbehave<P extends ProcedurePath>(path: P, behaviour: BehaviourFor<P> | undefined): void;
  /** Every procedure honest again. */
  behaveHonestly(): void;
  /** The calls recorded for `path`, oldest first. */
  callsTo(path: string): RecordedCall[];
  /** Stops listening and ends everything still open: long-polls, hangs, trickles, streams. */
  close(): Promise<void>;
}

interface Routed {
  readonly pathText: string;
  readonly query: URLSearchParams;
}

/** `/trpc/<path>?<query>` decoded, null when outside tRPC, or a thrown URIError for a bad escape. */
function route(url: string): Routed | null {
  if (!url.startsWith(PREFIX)) return null;
  const queryAt = url.indexOf('?');
  return {
    pathText: decodeURIComponent(url.slice(PREFIX.length, queryAt < 0 ? undefined : queryAt)),
    query: new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1)),
  };
}

/** Outside tRPC: a plain 404, as Express gives. */
function answerNotFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
}

/** A path with a malformed escape: tRPC's 400. */
function answerMalformedPath(res: ServerResponse): void {
  const body = JSON.stringify(errorEnvelope(trpcFault('BAD_REQUEST', 'URI malformed'), ''));
  res.writeHead(400, { 'content-type': 'application/json' });
  res.end(body);
}

export async function startHostileRelay(options: HostileRelayOptions = {}): Promise<HostileRelay> {
  const relayId = options.relayId ?? 'hostile-relay';
  const state = new HonestRelayState(relayId, options.version ?? '0.1.0-hostile', {
    ...DEFAULT_LIMITS,
    ...options.limits,
  });
  const callBehaviours = new Map<CallPath, StoredCallBehaviour>();
  let inboxBehaviour: InboxBehaviour | undefined;
  const calls: RecordedCall[] = [];
  const callCounts = new Map<string, number>();
  const closing = new AbortController();
  const sockets = new Set<Socket>();
  const streams = new Set<ServerResponse>();

  const record = (call: Omit<RecordedCall, 'at'>): number => {
    calls.push({ ...call, at: Date.now() });
    if (calls.length > MAX_RECORDED_CALLS) calls.shift();
    const count = callCounts.get(call.path) ?? 0;
    callCounts.set(call.path, count + 1);
    return count;
  };
  const callDeps = {
    state,
    behaviourFor: (path: CallPath) => callBehaviours.get(path),
    record,
    closing: closing.signal,
    trickleIntervalMs: options.trickleIntervalMs ?? 1_000,
  };
  const inboxDeps = {
    state,
    behaviour: () => inboxBehaviour,
    record,
    closing: closing.signal,
    streams,
    pingIntervalMs: options.pingIntervalMs ?? 3_000,
    retryMs: options.sseRetryMs ?? 1_000,
    reconnectAfterInactivityMs: options.reconnectAfterInactivityMs ?? 40_000,
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let routed: Routed | null;
    try {
      routed = route(req.url ?? '/');
    } catch {
      answerMalformedPath(res);
      return;
    }
    if (routed === null) {
      answerNotFound(res);
      return;
    }
    const { pathText, query } = routed;
    if (pathText === 'inbox' && req.method === 'GET' && !query.has('batch'))
      await serveInbox(inboxDeps, req, res, query);
    else await serveCalls(callDeps, req, res, pathText, query);
  };

  const server = createServer((req, res) => {
    if (closing.signal.aborted) {
      res.destroy();
      return;
    }
    serve(req, res).catch((error: unknown) => {
      // The harness's own failure: a 500 that says so, if anything can still be said.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`hostile relay failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('hostile relay has no port');

  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    relayId,
    get limits() {
      return state.limits;
    },
    calls,
    get openStreams() {
      return streams.size;
    },
    registerAgent: (agentId, agentKey) => state.setRecord(agentId, agentKey, Date.now()),
    deliver: (agentId, ciphertext, appendOptions) =>
      state.append(agentId, ciphertext, appendOptions),
    mailbox: (agentId) => state.messages(agentId),
    setLimits: (patch) => {
      state.setLimits(patch);
    },
    misbehave: (path, behaviour) => {
      if (path === 'inbox') {
        inboxBehaviour = behaviour as InboxBehaviour | undefined;
        return;
      }
      // Stored for any path; `serveCalls` hands each behaviour only its own path's calls.
      const stored = behaviour as StoredCallBehaviour | undefined;
      if (stored === undefined) callBehaviours.delete(path);
      else callBehaviours.set(path, stored);
    },
    behaveHonestly: () => {
      callBehaviours.clear();
      inboxBehaviour = undefined;
    },
    callsTo: (path) => calls.filter((call) => call.path === path),
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        closing.abort();
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      })),
  };
}
