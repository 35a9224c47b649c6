// The inbox subscription over SSE, in tRPC's SSE format as the relay writes it
// (server/src/live/sse-inbox.ts): a `retry:` line and a `connected` event, then `id:` + `data:` per
// message and `ping` events; or a test's script of events, raw bytes and pauses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  decodeAuthorization,
  messageIdSchema,
  procedures,
  type StoredMessage,
} from '@deaddrop/contract';
import superjson, { type SuperJSONResult } from 'superjson';
import type {
  InboxAnswer,
  InboxBehaviour,
  InboxRefusal,
  InboxScript,
  RecordedCall,
  RelayErrorSpec,
  SseStep,
} from './hostile-relay-behaviours.js';
import { pause, writable, writeChunked, writeRepeated } from './hostile-relay-bytes.js';
import { header } from './hostile-relay-calls.js';
import {
  errorEnvelope,
  errorShape,
  invalidInput,
  relayFault,
  trpcFault,
} from './hostile-relay-errors.js';
import { mailboxOwner } from './hostile-relay-procedures.js';
import type { HonestRelayState } from './hostile-relay-state.js';

const PATH = 'inbox';
const PING_EVENT = 'event: ping\ndata: \n\n';

export interface InboxServerDeps {
  readonly state: HonestRelayState;
  readonly behaviour: () => InboxBehaviour | undefined;
  readonly record: (call: Omit<RecordedCall, 'at'>) => number;
  readonly closing: AbortSignal;
  /** Streams open now: added when their headers go out, removed when they close. */
  readonly streams: Set<ServerResponse>;
  readonly pingIntervalMs: number;
  readonly retryMs: number;
  readonly reconnectAfterInactivityMs: number;
}

/** An inbox request as read from the wire, before any judgement. */
interface InboxWireRequest {
  readonly input: unknown;
  readonly undecodable: boolean;
  readonly lastEventId: string | null;
  readonly authorization: string | undefined;
}

/** `authorization` from the header, else from tRPC's `connectionParams` query JSON. */
function authorizationOf(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const fromHeader = header(req.headers.authorization);
  if (fromHeader !== undefined) return fromHeader;
  try {
    const params: unknown = JSON.parse(query.get('connectionParams') ?? 'null');
    if (typeof params !== 'object' || params === null) return undefined;
    const value: unknown = new Map(Object.entries(params)).get('authorization');
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function readWireRequest(req: IncomingMessage, query: URLSearchParams): InboxWireRequest {
  const lastEventId =
    header(req.headers['last-event-id']) ??
    query.get('lastEventId') ??
    query.get('Last-Event-Id') ??
    null;
  const authorization = authorizationOf(req, query);
  const text = query.get('input');
  if (text === null) return { input: undefined, undecodable: false, lastEventId, authorization };
  try {
    const input = superjson.deserialize(JSON.parse(text) as SuperJSONResult);
    return { input, undecodable: false, lastEventId, authorization };
  } catch {
    return { input: undefined, undecodable: true, lastEventId, authorization };
  }
}

/** Where the honest stream starts for this request, or why the relay refuses it. */
function honestStart(
  state: HonestRelayState,
  request: InboxWireRequest,
): { readonly agentId: string; readonly cursor: string } | { readonly error: RelayErrorSpec } {
  const owner = mailboxOwner(state, request.authorization);
  if ('error' in owner) return owner;
  if (request.undecodable) return { error: trpcFault('PARSE_ERROR', 'input is not superjson') };
  let input: unknown = request.input ?? {};
  const { lastEventId } = request;
  // As the relay: a reconnect's Last-Event-ID joins the input when it is a message id.
  if (lastEventId !== null && messageIdSchema.safeParse(lastEventId).success)
    input =
      typeof input === 'object' && input !== null ? { ...input, lastEventId } : { lastEventId };
  const parsed = procedures.inbox.input.safeParse(input);
  if (!parsed.success) return { error: invalidInput(parsed.error.issues) };
  return {
    agentId: owner.agentId,
    cursor: parsed.data.lastEventId ?? parsed.data.after ?? '0-0',
  };
}

function messageEvent(message: unknown, id: string | null): string {
  const idLine = id === null ? '' : `id: ${id}\n`;
  return `${idLine}data: ${JSON.stringify(superjson.serialize(message))}\n\n`;
}

function errorEvent(spec: RelayErrorSpec): string {
  return `event: serialized-error\ndata: ${JSON.stringify(superjson.serialize(errorShape(spec, PATH)))}\n\n`;
}

/** A scripted message's `id:` line: as given, else the message's own id when it has one. */
function scriptedId(step: {
  readonly message: unknown;
  readonly id?: string | null;
}): string | null {
  if (step.id !== undefined) return step.id;
  const { message } = step;
  if (typeof message !== 'object' || message === null || !('id' in message)) return null;
  return typeof message.id === 'string' ? message.id : null;
}

function stepBytes(
  step: Exclude<SseStep, { delayMs: number } | { repeat: string }>,
): string | Buffer {
  if ('message' in step) return messageEvent(step.message, scriptedId(step));
  if ('error' in step) return errorEvent(step.error);
  if ('ping' in step) return PING_EVENT;
  return step.raw;
}

/** Plays `steps` in order; false once the client left or the relay closed. */
async function play(res: ServerResponse, steps: readonly SseStep[], ended: AbortSignal) {
  for (const step of steps) {
    if (!writable(res) || ended.aborted) return false;
    if ('delayMs' in step) await pause(step.delayMs, ended);
    else if ('repeat' in step) await writeRepeated(res, step.repeat, step.times);
    else await writeChunked(res, stepBytes(step));
  }
  return writable(res) && !ended.aborted;
}

function refuse(res: ServerResponse, refusal: InboxRefusal): void {
  res.writeHead(refusal.status, {
    'content-type': refusal.contentType ?? 'application/json',
    'content-length': Buffer.byteLength(refusal.body),
  });
  res.end(refusal.body);
}

function refuseWithError(res: ServerResponse, spec: RelayErrorSpec): void {
  const retryAfter =
    spec.retryAfterMs === undefined
      ? {}
      : { 'retry-after': String(Math.ceil(spec.retryAfterMs / 1000)) };
  const body = JSON.stringify(errorEnvelope(spec, PATH));
  res.writeHead(spec.httpStatus, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...retryAfter,
  });
  res.end(body);
}

/** Every stored message after `cursor`, then each one delivered, with pings between. */
async function streamHonestly(
  deps: InboxServerDeps,
  res: ServerResponse,
  agentId: string,
  cursor: string,
  ended: AbortSignal,
): Promise<void> {
  // Backlog and listener taken in one turn: a delivery lands in exactly one of them.
  const queue: StoredMessage[] = deps.state.read(agentId, cursor, Number.MAX_SAFE_INTEGER);
  let wake: (() => void) | undefined;
  const stopListening = deps.state.listen(agentId, (message) => {
    queue.push(message);
    wake?.();
  });
  const onEnded = (): void => wake?.();
  ended.addEventListener('abort', onEnded);
  const pings = setInterval(() => {
    if (writable(res) && res.writableLength === 0) res.write(PING_EVENT);
  }, deps.pingIntervalMs);
  try {
    while (!ended.aborted && writable(res)) {
      const next = queue.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      } else await writeChunked(res, messageEvent(next, next.id));
    }
  } finally {
    clearInterval(pings);
    stopListening();
    ended.removeEventListener('abort', onEnded);
  }
  if (writable(res)) res.end();
}

function openStream(deps: InboxServerDeps, res: ServerResponse, preamble: boolean): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  res.flushHeaders();
  deps.streams.add(res);
  res.once('close', () => deps.streams.delete(res));
  if (preamble) {
    const connected = JSON.stringify({
      reconnectAfterInactivityMs: deps.reconnectAfterInactivityMs,
    });
    res.write(`retry: ${deps.retryMs}\nevent: connected\ndata: ${connected}\n\n`);
  }
}

async function runScript(
  deps: InboxServerDeps,
  res: ServerResponse,
  script: InboxScript,
  request: InboxWireRequest,
  ended: AbortSignal,
): Promise<void> {
  openStream(deps, res, script.preamble ?? true);
  if (!(await play(res, script.events, ended))) return;
  switch (script.then) {
    case 'hang':
      return; // silent and open: the client or close() ends it
    case 'end':
      res.end();
      return;
    case 'destroy':
      res.destroy();
      return;
    case 'honest': {
      const start = honestStart(deps.state, request);
      if ('error' in start) {
        res.end(errorEvent(start.error));
        return;
      }
      await streamHonestly(deps, res, start.agentId, start.cursor, ended);
      return;
    }
  }
}

async function answerOf(
  behaviour: InboxBehaviour | undefined,
  ...args: Parameters<InboxBehaviour>
): Promise<InboxAnswer> {
  if (behaviour === undefined) return { honest: true };
  try {
    return await behaviour(...args);
  } catch (cause) {
    // A broken behaviour is the test's bug: said plainly in a refusal rather than hidden.
    const detail = cause instanceof Error ? cause.message : String(cause);
    const spec = relayFault('INTERNAL', `the test's inbox behaviour threw: ${detail}`);
    return { status: spec.httpStatus, body: JSON.stringify(errorEnvelope(spec, PATH)) };
  }
}

/** Serves `GET /trpc/inbox`. */
export async function serveInbox(
  deps: InboxServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  // Nothing reads a body sent with the GET; drained so the socket notices the client leaving.
  req.resume();
  const left = new AbortController();
  res.once('close', () => {
    left.abort();
  });
  const ended = AbortSignal.any([left.signal, deps.closing]);
  const request = readWireRequest(req, query);
  const agentId = decodeAuthorization(request.authorization)?.agentId ?? null;
  const count = deps.record({
    path: PATH,
    method: req.method ?? 'GET',
    transport: 'sse',
    input: request.input,
    agentId,
    headers: req.headers,
    batchSize: 1,
    lastEventId: request.lastEventId,
  });
  const answer = await answerOf(deps.behaviour(), {
    input: request.input,
    lastEventId: request.lastEventId,
    agentId,
    count,
    headers: req.headers,
  });
  if (!writable(res) || ended.aborted) return;
  if ('status' in answer) {
    refuse(res, answer);
  } else if ('events' in answer) {
    await runScript(deps, res, answer, request, ended);
  } else {
    const start = honestStart(deps.state, request);
    if ('error' in start) {
      refuseWithError(res, start.error);
      return;
    }
    openStream(deps, res, true);
    await streamHonestly(deps, res, start.agentId, start.cursor, ended);
  }
}
