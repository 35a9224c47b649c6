// The relay's hot paths — `send` (POST) and `poll` / `stats` (GET), single or batched — answered
// before Express and tRPC's fetch adapter see them. The profile put most of a send's CPU in that
// machinery — a Fetch `Request`, its AbortSignals and web streams per request — not in the
// procedure. The lane runs the router's own procedures through a tRPC caller (same middlewares,
// mailbox auth included, same contract schemas, same handlers) and answers in tRPC's HTTP wire
// format with the same error formatter, so a client cannot tell which path served it
// (server/test/procedure-lane.test.ts compares both). Anything else — other procedures, mixed
// batches, streaming (jsonl) requests, other query parameters, POST bodies without a declared
// length or over the limit — is passed on untouched to Express and tRPC.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import superjson, { type SuperJSONResult } from 'superjson';
import type { RequestContext } from '@deaddrop/contract';
import type { Logger } from '../log.js';
import { clientAddress } from '../limits/client-address.js';
import { relayErrorShape, retryAfterSeconds, toTRPCError } from '../relay-error.js';
import type { RelayRouter } from '../router.js';
import { t } from '../trpc.js';

const PREFIX = '/trpc/';

function callerFactory(router: RelayRouter) {
  return t.createCallerFactory(router);
}
type Caller = ReturnType<ReturnType<typeof callerFactory>>;

/** The lane's procedures, each called with its raw input (the procedure's schema validates it). */
const laneProcedures = {
  send: {
    method: 'POST',
    call: (caller: Caller, input: unknown) => caller.send(input as Parameters<Caller['send']>[0]),
  },
  poll: {
    method: 'GET',
    call: (caller: Caller, input: unknown) => caller.poll(input as Parameters<Caller['poll']>[0]),
  },
  stats: { method: 'GET', call: (caller: Caller) => caller.stats() },
} as const;

type LaneProcedure = keyof typeof laneProcedures;

export interface ProcedureLaneOptions {
  readonly router: RelayRouter;
  readonly maxBodyBytes: number;
  readonly maxBatchSize: number;
  readonly log: Logger;
  /** Proxies whose `X-Forwarded-For` entries name the client (rate limits count it). */
  readonly trustProxyHops: number;
}

/** Serves the request and returns true, or returns false having touched nothing. */
export type ProcedureLane = (req: IncomingMessage, res: ServerResponse) => boolean;

type CallOutcome = { readonly ok: true; readonly data: unknown } | TRPCError;

interface LaneRequest {
  readonly paths: readonly LaneProcedure[];
  readonly batch: boolean;
  /** GET: the `input` query parameter as sent (undefined when absent). */
  readonly queryInput: string | undefined;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isLaneProcedure(path: string): path is LaneProcedure {
  return Object.hasOwn(laneProcedures, path);
}

/** What the URL asks for, when the lane serves it; null to leave it to tRPC. */
function parseUrl(url: string, method: string, maxBatchSize: number): LaneRequest | null {
  if (!url.startsWith(PREFIX)) return null;
  const queryAt = url.indexOf('?');
  const paths = decodeURIComponent(
    url.slice(PREFIX.length, queryAt < 0 ? undefined : queryAt),
  ).split(',');
  const query = new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1));
  // Only the parameters tRPC's HTTP links send; anything else is tRPC's to interpret.
  for (const key of query.keys()) if (key !== 'batch' && key !== 'input') return null;
  const batch = query.get('batch') === '1';
  if (query.has('batch') && !batch) return null;
  if (method === 'POST' && query.has('input')) return null;
  if (!batch && paths.length !== 1) return null;
  if (paths.length > maxBatchSize) return null;
  const lanePaths: LaneProcedure[] = [];
  for (const path of paths) {
    if (!isLaneProcedure(path) || laneProcedures[path].method !== method) return null;
    lanePaths.push(path);
  }
  return { paths: lanePaths, batch, queryInput: query.get('input') ?? undefined };
}

function isJsonContentType(value: string | undefined): boolean {
  return value?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

function wantsStream(req: IncomingMessage): boolean {
  const trpcAccept = header(req.headers['trpc-accept']);
  if (trpcAccept !== undefined) return trpcAccept === 'application/jsonl';
  const accept = header(req.headers.accept);
  return accept?.split(',').some((type) => type.trim() === 'application/jsonl') ?? false;
}

/** Each call's raw input, as tRPC's JSON content handler reads them (errors per call). */
function inputsOf(text: string | undefined, count: number, batch: boolean): unknown[] | TRPCError {
  let parsed: unknown;
  try {
    parsed = text === undefined || text === '' ? undefined : JSON.parse(text);
  } catch (cause) {
    // As tRPC answers unparsable input: 400 with the parser's message.
    const message = cause instanceof Error ? cause.message : 'input is not JSON';
    return new TRPCError({ code: 'BAD_REQUEST', message, cause });
  }
  if (parsed === undefined) return new Array<unknown>(count).fill(undefined);
  try {
    if (!batch) return [superjson.deserialize(parsed as SuperJSONResult)];
  } catch (cause) {
    return undeserializable(cause);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return new TRPCError({
      code: 'BAD_REQUEST',
      message: '"input" needs to be an object when doing a batch call',
    });
  }
  const inputs = parsed as Record<string, unknown>;
  try {
    return Array.from({ length: count }, (_, index) => {
      const input = inputs[String(index)];
      return input === undefined ? undefined : superjson.deserialize(input as SuperJSONResult);
    });
  } catch (cause) {
    return undeserializable(cause);
  }
}

/**
 * JSON that superjson cannot deserialize (`null`, bad `meta` annotations: found by
 * server/test/fuzz.test.ts) is the client's fault, answered as tRPC does: 400 with the cause's message.
 */
function undeserializable(cause: unknown): TRPCError {
  const message = cause instanceof Error ? cause.message : 'Invalid input';
  return new TRPCError({ code: 'BAD_REQUEST', message, cause });
}

export function createProcedureLane(options: ProcedureLaneOptions): ProcedureLane {
  const { router, maxBodyBytes, maxBatchSize, log, trustProxyHops } = options;
  const createCaller = callerFactory(router);

  const call = async (
    caller: Caller,
    path: LaneProcedure,
    input: unknown,
  ): Promise<CallOutcome> => {
    try {
      return { ok: true, data: await laneProcedures[path].call(caller, input) };
    } catch (cause) {
      const error = toTRPCError(cause);
      if (error.code === 'INTERNAL_SERVER_ERROR')
        log.error('procedure failed', { path, error: error.cause?.message ?? error.message });
      return error;
    }
  };

  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
    request: LaneRequest,
    text: string | undefined,
  ): Promise<void> => {
    const { paths, batch } = request;
    // One context object for the whole request: mailbox auth verifies one proof per request.
    const ctx: RequestContext = {
      authorization: header(req.headers.authorization),
      apiKey: header(req.headers['x-deaddrop-api-key']),
      paths,
      transport: 'http',
      clientIp: clientAddress(req, trustProxyHops),
    };
    // A long-poll stops waiting when its client goes away, as under tRPC's adapter.
    const abort = new AbortController();
    const onClose = (): void => {
      if (!res.writableEnded) abort.abort();
    };
    res.once('close', onClose);
    const caller = createCaller(ctx, { signal: abort.signal });
    const inputs = inputsOf(text, paths.length, batch);
    const outcomes: CallOutcome[] =
      inputs instanceof TRPCError
        ? new Array<CallOutcome>(paths.length).fill(inputs)
        : await Promise.all(paths.map((path, index) => call(caller, path, inputs[index])));
    res.off('close', onClose);
    if (res.destroyed) return;
    const statuses = new Set<number>();
    const envelopes = outcomes.map((outcome, index) => {
      if (outcome instanceof TRPCError) {
        const shape = relayErrorShape(outcome, paths[index] ?? '');
        statuses.add(shape.data.httpStatus);
        return { error: superjson.serialize(shape) };
      }
      statuses.add(200);
      return { result: { data: superjson.serialize(outcome.data) } };
    });
    // tRPC's rule: one status when every call agrees, 207 when they differ.
    const status = statuses.size === 1 ? ([...statuses][0] ?? 200) : 207;
    const body = JSON.stringify(batch ? envelopes : envelopes[0]);
    const retryAfter = retryAfterSeconds(outcomes);
    res.writeHead(status, {
      vary: 'trpc-accept, accept',
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
    });
    res.end(body);
  };

  const fail = (res: ServerResponse) => (error: unknown) => {
    log.error('request failed', { error: error instanceof Error ? error.message : String(error) });
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'internal relay error' }));
  };

  return (req, res) => {
    const { method, url } = req;
    if ((method !== 'POST' && method !== 'GET') || url === undefined) return false;
    let request: LaneRequest | null;
    try {
      request = parseUrl(url, method, maxBatchSize);
    } catch {
      return false; // a malformed URL escape: tRPC's to answer
    }
    if (request === null || wantsStream(req)) return false;

    if (method === 'GET') {
      answer(req, res, request, request.queryInput).catch(fail(res));
      return true;
    }
    const length = Number(header(req.headers['content-length']) ?? NaN);
    if (
      !Number.isSafeInteger(length) ||
      length > maxBodyBytes ||
      !isJsonContentType(header(req.headers['content-type']))
    )
      return false;
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // The declared length bounds what we buffer; a client sending more is cut off.
      if (received > length) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks, received).toString('utf8');
      answer(req, res, request, body).catch(fail(res));
    });
    return true;
  };
}
