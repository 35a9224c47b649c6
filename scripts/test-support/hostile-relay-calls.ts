// Request/response calls in tRPC v11's HTTP format (server/src/http/procedure-lane.ts): one call or
// a batch, GET input in the query and POST input in the body, superjson both ways; each call
// answered by its behaviour or honestly, or the whole response taken over (hang, trickle, raw).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeAuthorization } from '@deaddrop/contract';
import superjson, { type SuperJSONResult } from 'superjson';
import type {
  CallAnswer,
  CallContext,
  CallOutput,
  CallPath,
  HonestAnswer,
  RawAnswer,
  RecordedCall,
  RelayErrorSpec,
  TrickleOptions,
} from './hostile-relay-behaviours.js';
import { writable, writeChunked } from './hostile-relay-bytes.js';
import { errorEnvelope, relayFault, trpcFault } from './hostile-relay-errors.js';
import { honestProcedures, isCallPath } from './hostile-relay-procedures.js';
import type { HonestRelayState } from './hostile-relay-state.js';

/** Largest request body read: far above any honest call (a 1 MiB envelope is ≈ 1.4 MB of JSON). */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** A behaviour as stored, for any path (each is only ever called with its own path's calls). */
export type StoredCallBehaviour = (call: CallContext<CallPath>) => CallAnswer | Promise<CallAnswer>;

export interface CallServerDeps {
  readonly state: HonestRelayState;
  readonly behaviourFor: (path: CallPath) => StoredCallBehaviour | undefined;
  /** Records a call; returns how many calls to its path came before. */
  readonly record: (call: Omit<RecordedCall, 'at'>) => number;
  /** Aborts when the relay closes: long-polls answer, trickles stop. */
  readonly closing: AbortSignal;
  readonly trickleIntervalMs: number;
}

/** A call answered inside the response's envelope(s). */
type Enveloped = { readonly data: unknown } | { readonly error: RelayErrorSpec };

/** One call's final answer: its envelope, or a takeover of the whole response. */
type Settled =
  | Enveloped
  | { readonly hang: true }
  | { readonly trickle: true | TrickleOptions }
  | { readonly raw: RawAnswer };

export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The body as text; null when it is larger than the relay reads (the request is cut off) or cut. */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_BODY_BYTES) {
        req.destroy();
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
    // A client that leaves mid-body (or close()) ends the wait; after `end` this changes nothing.
    req.on('close', () => {
      resolve(null);
    });
  });
}

/** Each call's decoded input, as tRPC reads them, or the error every call gets. */
function decodeInputs(
  text: string | undefined,
  count: number,
  batch: boolean,
): unknown[] | RelayErrorSpec {
  if (text === undefined || text === '') return new Array<unknown>(count).fill(undefined);
  try {
    const parsed: unknown = JSON.parse(text);
    if (!batch) return [superjson.deserialize(parsed as SuperJSONResult)];
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return trpcFault('BAD_REQUEST', '"input" needs to be an object when doing a batch call');
    const inputs = new Map<string, unknown>(Object.entries(parsed));
    return Array.from({ length: count }, (_, index) => {
      const input = inputs.get(String(index));
      return input === undefined ? undefined : superjson.deserialize(input as SuperJSONResult);
    });
  } catch (cause) {
    return trpcFault('BAD_REQUEST', cause instanceof Error ? cause.message : 'input is not JSON');
  }
}

/** Marks a decode failure apart from any input value a call could carry. */
class InputError {
  constructor(readonly spec: RelayErrorSpec) {}
}

/** The honest answer to `path`, the method checked first as tRPC does. */
function honestAnswer(
  deps: CallServerDeps,
  path: CallPath,
  method: string,
  input: unknown,
  authorization: string | undefined,
  signal: AbortSignal,
): Promise<HonestAnswer<CallOutput<CallPath>>> {
  const procedure = honestProcedures[path];
  if (procedure.method !== method) {
    const kind = procedure.method === 'GET' ? 'query' : 'mutation';
    return Promise.resolve({
      error: trpcFault(
        'METHOD_NOT_SUPPORTED',
        `Unsupported ${method}-request to ${kind} procedure at path "${path}"`,
      ),
    });
  }
  return procedure.answer(deps.state, { input, authorization, signal });
}

/** One call of a request: recorded, then answered by its behaviour or honestly. */
async function answerCall(
  deps: CallServerDeps,
  req: IncomingMessage,
  path: string,
  input: unknown,
  batchSize: number,
  signal: AbortSignal,
): Promise<Settled> {
  const authorization = header(req.headers.authorization);
  const agentId = decodeAuthorization(authorization)?.agentId ?? null;
  const method = req.method ?? 'GET';
  const undecodable = input instanceof InputError ? input.spec : undefined;
  const decoded = undecodable === undefined ? input : undefined;
  const count = deps.record({
    path,
    method,
    transport: 'http',
    input: decoded,
    agentId,
    headers: req.headers,
    batchSize,
    lastEventId: null,
  });
  if (undecodable !== undefined) return { error: undecodable };
  if (!isCallPath(path)) {
    return path === 'inbox'
      ? {
          error: trpcFault(
            'METHOD_NOT_SUPPORTED',
            `Unsupported ${method}-request to subscription procedure at path "inbox"`,
          ),
        }
      : { error: trpcFault('NOT_FOUND', `No procedure found on path "${path}"`) };
  }
  let honest: Promise<HonestAnswer<CallOutput<CallPath>>> | undefined;
  const lazyHonest = () =>
    (honest ??= honestAnswer(deps, path, method, decoded, authorization, signal));
  const behaviour = deps.behaviourFor(path);
  if (behaviour === undefined) return lazyHonest();
  try {
    const answer = await behaviour({
      path,
      input: decoded,
      agentId,
      count,
      headers: req.headers,
      honest: lazyHonest,
    });
    return 'honest' in answer ? await lazyHonest() : answer;
  } catch (cause) {
    // A broken behaviour is the test's bug: said plainly in the answer rather than hidden.
    const detail = cause instanceof Error ? cause.message : String(cause);
    return { error: relayFault('INTERNAL', `the test's behaviour for ${path} threw: ${detail}`) };
  }
}

function startTrickle(
  res: ServerResponse,
  options: TrickleOptions,
  { trickleIntervalMs, closing }: CallServerDeps,
): void {
  res.writeHead(options.status ?? 200, { 'content-type': 'application/json' });
  res.flushHeaders();
  const chunk = options.chunk ?? ' ';
  // Ends with the response or the relay; until then it is the never-ending answer asked for.
  const timer = setInterval(() => {
    if (writable(res)) res.write(chunk);
  }, options.intervalMs ?? trickleIntervalMs);
  const stop = (): void => {
    clearInterval(timer);
    closing.removeEventListener('abort', stop);
  };
  res.once('close', stop);
  closing.addEventListener('abort', stop);
  if (closing.aborted) stop();
}

async function writeRaw(res: ServerResponse, raw: RawAnswer): Promise<void> {
  res.writeHead(
    raw.status,
    raw.headers ?? {
      'content-type': raw.contentType ?? 'application/json',
      'content-length': Buffer.byteLength(raw.body),
    },
  );
  if (await writeChunked(res, raw.body)) res.end();
}

/** Envelopes as tRPC writes them: one status when every call agrees, 207 when they differ. */
function writeEnvelopes(
  res: ServerResponse,
  paths: readonly string[],
  settled: readonly Enveloped[],
  batch: boolean,
): void {
  const statuses = new Set<number>();
  let retryAfterMs = 0;
  const envelopes = settled.map((answer, index) => {
    if ('error' in answer) {
      statuses.add(answer.error.httpStatus);
      retryAfterMs = Math.max(retryAfterMs, answer.error.retryAfterMs ?? 0);
      return errorEnvelope(answer.error, paths[index] ?? '');
    }
    statuses.add(200);
    return { result: { data: superjson.serialize(answer.data) } };
  });
  const status = statuses.size === 1 ? ([...statuses][0] ?? 200) : 207;
  const body = JSON.stringify(batch ? envelopes : envelopes[0]);
  res.writeHead(status, {
    vary: 'trpc-accept, accept',
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...(retryAfterMs > 0 ? { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } : {}),
  });
  res.end(body);
}

/** Serves a request to `/trpc/<pathText>` that is not an inbox subscription. */
export async function serveCalls(
  deps: CallServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  pathText: string,
  query: URLSearchParams,
): Promise<void> {
  const batch = query.get('batch') === '1';
  const paths = batch ? pathText.split(',') : [pathText];
  let text: string | undefined;
  if (req.method === 'POST') {
    const body = await readBody(req);
    if (body === null) return;
    text = body;
  } else {
    req.resume();
    text = query.get('input') ?? undefined;
  }
  const decoded = decodeInputs(text, paths.length, batch);
  const inputs = Array.isArray(decoded)
    ? decoded
    : new Array<unknown>(paths.length).fill(new InputError(decoded));
  // A long-poll answers early when its client leaves or the relay closes.
  const left = new AbortController();
  res.once('close', () => {
    left.abort();
  });
  const signal = AbortSignal.any([left.signal, deps.closing]);
  const settled = await Promise.all(
    paths.map((path, index) => answerCall(deps, req, path, inputs[index], paths.length, signal)),
  );
  if (!writable(res)) return;
  const enveloped: Enveloped[] = [];
  for (const answer of settled) {
    if ('hang' in answer) return; // nothing, ever: close() or the client ends it
    if ('trickle' in answer) {
      startTrickle(res, answer.trickle === true ? {} : answer.trickle, deps);
      return;
    }
    if ('raw' in answer) {
      await writeRaw(res, answer.raw);
      return;
    }
    enveloped.push(answer);
  }
  writeEnvelopes(res, paths, enveloped, batch);
}
