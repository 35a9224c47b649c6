// The relay's hot path: `send` calls (single, or batches of sends only) answered before Express
// and tRPC's fetch adapter see them. The profile put most of a send's CPU in that machinery — a
// Fetch `Request`, its AbortSignals and web streams per request — not in the procedure. The lane
// runs the router's own `send` procedure through a tRPC caller (same middlewares, same contract
// schemas, same handler) and answers in tRPC's HTTP wire format with the same error formatter, so a
// client cannot tell which path served it (server/test/send-lane.test.ts compares both). Anything
// else — other procedures, mixed batches, streaming (jsonl) requests, bodies without a declared
// length or over the limit — is passed on untouched to Express and tRPC.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import superjson, { type SuperJSONResult } from 'superjson';
import type { RequestContext } from '@deaddrop/contract';
import type { SendInput } from '../handlers/send.js';
import type { Logger } from '../log.js';
import { relayErrorShape, toTRPCError } from '../relay-error.js';
import type { RelayRouter } from '../router.js';
import { t } from '../trpc.js';

const PREFIX = '/trpc/';
const PROCEDURE = 'send';

export interface SendLaneOptions {
  readonly router: RelayRouter;
  readonly maxBodyBytes: number;
  readonly maxBatchSize: number;
  readonly log: Logger;
}

/** Serves the request and returns true, or returns false having touched nothing. */
export type SendLane = (req: IncomingMessage, res: ServerResponse) => boolean;

type CallOutcome = { readonly ok: true; readonly data: unknown } | TRPCError;

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Number of `send` calls the URL names (1 for a plain call), or 0 when the lane does not apply. */
function sendCalls(url: string, maxBatchSize: number): number {
  if (!url.startsWith(PREFIX)) return 0;
  const query = url.indexOf('?');
  const path = url.slice(PREFIX.length, query < 0 ? undefined : query);
  if (query < 0) return path === PROCEDURE ? 1 : 0;
  // Only the exact query httpBatchLink sends; any other parameter is tRPC's to interpret.
  if (url.slice(query + 1) !== 'batch=1') return 0;
  const paths = path.split(',');
  if (paths.length > maxBatchSize || paths.some((p) => p !== PROCEDURE)) return 0;
  return paths.length;
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

export function createSendLane(options: SendLaneOptions): SendLane {
  const { router, maxBodyBytes, maxBatchSize, log } = options;
  const createCaller = t.createCallerFactory(router);

  const call = async (ctx: RequestContext, input: unknown): Promise<CallOutcome> => {
    try {
      // Raw, as tRPC's adapter passes it: the procedure's contract schema validates it.
      return { ok: true, data: await createCaller(ctx).send(input as SendInput) };
    } catch (cause) {
      const error = toTRPCError(cause);
      if (error.code === 'INTERNAL_SERVER_ERROR')
        log.error('procedure failed', {
          path: PROCEDURE,
          error: error.cause?.message ?? error.message,
        });
      return error;
    }
  };

  /** Each call's raw input, as tRPC's JSON content handler reads them (errors per call). */
  const inputsOf = (body: string, count: number, batch: boolean): unknown[] | TRPCError => {
    let parsed: unknown;
    try {
      parsed = body === '' ? undefined : JSON.parse(body);
    } catch (cause) {
      // As tRPC answers an unparsable body: 400 with the parser's message.
      const message = cause instanceof Error ? cause.message : 'body is not JSON';
      return new TRPCError({ code: 'BAD_REQUEST', message, cause });
    }
    if (parsed === undefined) return new Array<unknown>(count).fill(undefined);
    if (!batch) return [superjson.deserialize(parsed as SuperJSONResult)];
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return new TRPCError({
        code: 'BAD_REQUEST',
        message: '"input" needs to be an object when doing a batch call',
      });
    }
    const inputs = parsed as Record<string, unknown>;
    return Array.from({ length: count }, (_, index) => {
      const input = inputs[String(index)];
      return input === undefined ? undefined : superjson.deserialize(input as SuperJSONResult);
    });
  };

  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    count: number,
    batch: boolean,
  ): Promise<void> => {
    const ctx: RequestContext = {
      authorization: header(req.headers.authorization),
      apiKey: header(req.headers['x-deaddrop-api-key']),
      paths: new Array<string>(count).fill(PROCEDURE),
      transport: 'http',
    };
    const inputs = inputsOf(body, count, batch);
    const outcomes: CallOutcome[] =
      inputs instanceof TRPCError
        ? new Array<CallOutcome>(count).fill(inputs)
        : await Promise.all(inputs.map((input) => call(ctx, input)));
    const statuses = new Set<number>();
    const envelopes = outcomes.map((outcome) => {
      if (outcome instanceof TRPCError) {
        const shape = relayErrorShape(outcome, PROCEDURE);
        statuses.add(shape.data.httpStatus);
        return { error: superjson.serialize(shape) };
      }
      statuses.add(200);
      return { result: { data: superjson.serialize(outcome.data) } };
    });
    // tRPC's rule: one status when every call agrees, 207 when they differ.
    const status = statuses.size === 1 ? ([...statuses][0] ?? 200) : 207;
    const text = JSON.stringify(batch ? envelopes : envelopes[0]);
    res.writeHead(status, {
      vary: 'trpc-accept, accept',
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  return (req, res) => {
    if (req.method !== 'POST' || req.url === undefined) return false;
    const count = sendCalls(req.url, maxBatchSize);
    if (count === 0) return false;
    const length = Number(header(req.headers['content-length']) ?? NaN);
    if (
      !Number.isSafeInteger(length) ||
      length > maxBodyBytes ||
      !isJsonContentType(header(req.headers['content-type'])) ||
      wantsStream(req)
    )
      return false;

    const batch = req.url.includes('?');
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
      answer(req, res, body, count, batch).catch((error: unknown) => {
        log.error('request failed', {
          error: error instanceof Error ? error.message : String(error),
        });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'internal relay error' }));
      });
    });
    return true;
  };
}
