// Queries (GET) and mutations (POST), single or batched, answered before Express and tRPC's fetch
// adapter see them. The profile put most of a call's CPU in that machinery — a Fetch `Request`, its
// AbortSignals and web streams per request — not in the procedure. The lane runs the router's own
// steps and resolvers through the direct caller (direct-calls.ts: same guards, mailbox auth
// included, same contract schemas, same handlers) and answers in tRPC's HTTP wire format with the
// same error formatter, so a client cannot tell which path served it
// (server/test/procedure-lane.test.ts compares both). Which
// procedures it serves, and with which method, comes from the contract's procedure table. Before a
// body is read or an input parsed, a request spends its rate-limit tokens and shows its access key
// (request-admission.ts). Anything else — subscriptions, unknown paths, wrong methods, streaming
// (jsonl) requests, other query parameters, POST bodies without a declared length or over the
// limit — is passed on untouched to Express and tRPC.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import superjson, { type SuperJSONResult } from 'superjson';
import { listProcedures, type RequestContext } from '@deaddrop/contract';
import type { RequestAdmission } from '../limits/request-admission.js';
import type { Logger } from '../log.js';
import { toTRPCError } from '../relay-error.js';
import type { DirectCaller } from '../direct-calls.js';
import { header, requestContext, trpcCallOf } from './request-context.js';
import { writeCallAnswers, type CallOutcome } from './trpc-answer.js';

interface LaneProcedure {
  readonly type: 'query' | 'mutation';
  readonly method: 'GET' | 'POST';
}

/** Every query and mutation in the table, with the HTTP method its kind takes. */
const laneProcedures: ReadonlyMap<string, LaneProcedure> = new Map(
  listProcedures().flatMap(({ path, definition }) =>
    definition.kind === 'subscription'
      ? []
      : [
          [
            path,
            {
              type: definition.kind,
              method: definition.kind === 'query' ? 'GET' : 'POST',
            } as const,
          ] as const,
        ],
  ),
);

export interface ProcedureLaneOptions {
  /** The router's procedures without tRPC's machinery (direct-calls.ts). */
  readonly call: DirectCaller;
  readonly admission: RequestAdmission;
  readonly maxBodyBytes: number;
  readonly maxBatchSize: number;
  readonly log: Logger;
  /** Proxies whose `X-Forwarded-For` entries name the client (rate limits count it). */
  readonly trustProxyHops: number;
}

/** Serves the request and returns true, or returns false having touched nothing. */
export type ProcedureLane = (req: IncomingMessage, res: ServerResponse) => boolean;

interface LaneRequest {
  readonly paths: readonly string[];
  readonly procedures: readonly LaneProcedure[];
  readonly batch: boolean;
  /** GET: the `input` query parameter as sent (undefined when absent). */
  readonly queryInput: string | undefined;
}

/** What the URL asks for, when the lane serves it; null to leave it to tRPC. */
function parseUrl(url: string, method: 'GET' | 'POST', maxBatchSize: number): LaneRequest | null {
  const call = trpcCallOf(url);
  if (call === null) return null;
  const { paths, batch, query } = call;
  // Only the parameters tRPC's HTTP links send; anything else is tRPC's to interpret.
  for (const key of query.keys()) if (key !== 'batch' && key !== 'input') return null;
  if (query.has('batch') && !batch) return null;
  if (method === 'POST' && query.has('input')) return null;
  if (paths.length > maxBatchSize) return null;
  const procedures: LaneProcedure[] = [];
  for (const path of paths) {
    const procedure = laneProcedures.get(path);
    if (procedure === undefined || procedure.method !== method) return null;
    procedures.push(procedure);
  }
  return { paths, procedures, batch, queryInput: query.get('input') ?? undefined };
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

/**
 * superjson's reading of one call's input. Without `meta` there is nothing to revive and superjson
 * answers a deep copy of `json`: the value itself is the same input, and it came from this
 * request's own JSON.parse, so no copy is made (a send's input walked and copied for nothing).
 */
function deserialize(input: unknown): unknown {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const { json, meta } = input as Partial<SuperJSONResult>;
    if (meta === undefined) return json;
  }
  return superjson.deserialize(input as SuperJSONResult);
}

/**
 * Each call's raw input, as tRPC's JSON content handler reads them. A parser's failure (bad JSON,
 * superjson that cannot be deserialized: `null`, bad `meta`) is BAD_REQUEST with the parser's
 * error as the cause only: the formatter answers with a generic message.
 */
function parseInputs(text: string | undefined, count: number, batch: boolean): unknown[] {
  try {
    const parsed: unknown = text === undefined || text === '' ? undefined : JSON.parse(text);
    if (parsed === undefined) return new Array<unknown>(count).fill(undefined);
    if (!batch) return [deserialize(parsed)];
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new TRPCError({
        code: 'BAD_REQUEST',
        message: '"input" needs to be an object when doing a batch call',
      });
    }
    const inputs = parsed as Record<string, unknown>;
    return Array.from({ length: count }, (_, index) => {
      const key = String(index);
      const input = Object.hasOwn(inputs, key) ? inputs[key] : undefined;
      return input === undefined ? undefined : deserialize(input);
    });
  } catch (cause) {
    if (cause instanceof TRPCError) throw cause;
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'invalid input', cause });
  }
}

/**
 * The inputs, parsed on first use: as under tRPC's adapter, a call's middlewares (rate limits,
 * access key, mailbox proof) run before its input is read, so a bad input without a proof is 401.
 */
function lazyInputs(text: string | undefined, count: number, batch: boolean) {
  let inputs: Promise<unknown[]> | undefined;
  return async (index: number): Promise<unknown> => {
    inputs ??= new Promise<unknown[]>((resolve) => {
      resolve(parseInputs(text, count, batch));
    });
    return (await inputs)[index];
  };
}

export function createProcedureLane(options: ProcedureLaneOptions): ProcedureLane {
  const {
    call: callProcedure,
    admission,
    maxBodyBytes,
    maxBatchSize,
    log,
    trustProxyHops,
  } = options;

  const call = async (
    ctx: RequestContext,
    signal: AbortSignal | undefined,
    request: LaneRequest,
    index: number,
    input: (index: number) => Promise<unknown>,
  ): Promise<CallOutcome> => {
    const path = request.paths[index] ?? '';
    const procedure = request.procedures[index];
    try {
      if (procedure === undefined) throw new TRPCError({ code: 'NOT_FOUND' });
      const data: unknown = await callProcedure({
        path,
        type: procedure.type,
        ctx,
        rawInput: () => input(index),
        signal,
      });
      return { ok: true, data };
    } catch (cause) {
      const error = toTRPCError(cause);
      if (error.code === 'INTERNAL_SERVER_ERROR')
        log.error('procedure failed', { path, error: error.cause?.message ?? error.message });
      return error;
    }
  };

  const answer = async (
    ctx: RequestContext,
    res: ServerResponse,
    request: LaneRequest,
    text: string | undefined,
    abort: AbortController | undefined,
  ): Promise<void> => {
    const input = lazyInputs(text, request.paths.length, request.batch);
    const outcomes = await Promise.all(
      request.paths.map((_, index) => call(ctx, abort?.signal, request, index, input)),
    );
    writeCallAnswers(res, request, outcomes, log);
  };

  const fail = (res: ServerResponse) => (error: unknown) => {
    log.error('request failed', { error: error instanceof Error ? error.message : String(error) });
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'internal relay error' }));
  };

  /** Rate-limit tokens and the access key, before anything of the request is read. */
  const admitted = async (
    ctx: RequestContext,
    res: ServerResponse,
    request: LaneRequest,
  ): Promise<boolean> => {
    try {
      await admission.admit(ctx);
      return true;
    } catch (cause) {
      const refusal = toTRPCError(cause);
      writeCallAnswers(
        res,
        request,
        new Array<CallOutcome>(request.paths.length).fill(refusal),
        log,
      );
      return false;
    }
  };

  return (req, res) => {
    const { method, url } = req;
    if ((method !== 'POST' && method !== 'GET') || url === undefined) return false;
    const request = parseUrl(url, method, maxBatchSize);
    if (request === null || wantsStream(req)) return false;
    // One context object for the whole request: one proof and one spend of tokens per request.
    const ctx = requestContext(req, trustProxyHops, 'http', request.paths);

    if (method === 'GET') {
      // A long-poll stops waiting when its client goes away, as under tRPC's adapter: listened for
      // from the start, so a client gone during admission (a store round trip) is seen too. Only
      // queries wait (poll): mutations are spared the AbortController and the listener.
      const abort = new AbortController();
      const onClose = (): void => {
        if (!res.writableEnded) abort.abort();
      };
      res.once('close', onClose);
      (async () => {
        try {
          if (await admitted(ctx, res, request))
            await answer(ctx, res, request, request.queryInput, abort);
        } finally {
          res.off('close', onClose);
        }
      })().catch(fail(res));
      return true;
    }
    const length = Number(header(req.headers['content-length']) ?? NaN);
    if (
      !Number.isSafeInteger(length) ||
      length > maxBodyBytes ||
      !isJsonContentType(header(req.headers['content-type']))
    )
      return false;
    (async () => {
      if (!(await admitted(ctx, res, request))) {
        // The body is discarded unread (no parsing, no buffering) so the connection stays usable.
        req.resume();
        return;
      }
      const body = await readBody(req, length);
      if (body !== null) await answer(ctx, res, request, body, undefined);
    })().catch(fail(res));
    return true;
  };
}

/** The body, at most its declared length; null when the client sent more (it is cut off). */
function readBody(req: IncomingMessage, length: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > length) {
        req.destroy();
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks, received).toString('utf8'));
    });
    // A client that leaves mid-body: nothing to answer (a no-op after 'end').
    req.on('close', () => {
      resolve(null);
    });
    req.on('error', reject);
  });
}
