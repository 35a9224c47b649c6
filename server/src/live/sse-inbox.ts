// Subscriptions over SSE (the inbox), served beside tRPC's adapter but through the router's own
// procedure: the same middlewares (rate limits, access key, subscription limit, mailbox proof) and
// the same input schema as every other transport, so nothing here can drift from them. Only the
// event writer is special: it speaks tRPC's SSE wire format (events `connected`, `ping`,
// `serialized-error`; `id:` on every message), so httpSubscriptionLink clients cannot tell the
// difference, at a fraction of the cost per subscriber — no web-streams pipeline, no timer per
// connection (one shared ping round) — which lets one process hold tens of thousands. Every
// request tRPC's adapter would resolve to a subscription is answered here, and a refused one gets
// its HTTP status (401, 429, …) before any stream starts (PROTOCOL §3). The plain HTTP API's
// `GET /v1/inbox` (PROTOCOL §3.8) runs through the same stream writer with its own wire: how its
// input and credentials are read, how a refusal is answered and how events are framed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { TRPCError, callTRPCProcedure, isTrackedEnvelope } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import superjson from 'superjson';
import { listProcedures, messageIdSchema, type RequestContext } from '@deaddrop/contract';
import type { RequestAdmission } from '../limits/request-admission.js';
import type { Logger } from '../log.js';
import {
  header,
  requestContext,
  searchParamsOf,
  trpcCallAt,
  trpcCallOf,
  type ConnectionParams,
} from '../http/request-context.js';
import { RelayFault, relayErrorShape, retryAfterSeconds, toTRPCError } from '../relay-error.js';
import type { RelayRouter } from '../router.js';
import type { RelayServices } from '../services.js';
import { attachConnection, type LiveConnection } from './connections.js';
import { createPingRounds } from './ping-rounds.js';
import { SSE_PING_FRAME, sseConnectedFrame, sseErrorFrame, sseItemFrame } from './sse-frames.js';

const SSE_PING_INTERVAL_MS = 15_000;
/** Ticks per ping interval: each pings 1/PING_SLICES of the streams. */
const PING_SLICES = 150;
/** The longest `connectionParams` query value read (a proof and a key are a few hundred bytes). */
const MAX_CONNECTION_PARAMS_CHARS = 4_096;

const subscriptionPaths: ReadonlySet<string> = new Set(
  listProcedures()
    .filter(({ definition }) => definition.kind === 'subscription')
    .map(({ path }) => path),
);

/**
 * How one kind of SSE client is spoken to: tRPC's httpSubscriptionLink, or the plain HTTP API.
 * The stream writer around it (admission, connection cap, the procedure, backpressure, pings,
 * shutdown) is the same for both.
 */
export interface SseWire {
  /** Credentials sent beside the headers (tRPC's `connectionParams`), where the wire has them. */
  readonly params: ConnectionParams;
  /** The raw input for the procedure's schema; throws a TRPCError when it cannot be read. */
  rawInput(): unknown;
  /** Answers a refused subscription with its HTTP status, before any stream starts. */
  refuse(error: TRPCError): void;
  /** The first frame, advising `retryMs` as the reconnect delay. */
  opening(retryMs: number): string;
  /** One tracked item: `id` is the message id. */
  item(id: string, data: unknown): string;
  /** The error that ends a stream. */
  failure(error: TRPCError): string;
  /** Sent to an idle stream every 15 s. */
  readonly ping: string;
}

export interface SseInboxDeps {
  readonly services: RelayServices;
  readonly router: RelayRouter;
  readonly admission: RequestAdmission;
  readonly log: Logger;
}

/**
 * The subscription a request names, if tRPC's adapter would resolve it to one: `pathBelowMount`
 * is Express's `req.path` under the tRPC mount, which the adapter reads (Express routes `/TRPC`
 * and `/trpc/` there too).
 */
function subscriptionPathOf(pathBelowMount: string, batch: boolean): string | null {
  const call = trpcCallAt(pathBelowMount, batch);
  if (call === null || call.batch || call.paths.length !== 1) return null;
  const [path = ''] = call.paths;
  return subscriptionPaths.has(path) ? path : null;
}

/**
 * What the tRPC wire reads of a request: the query of its URL as sent (Express's `originalUrl`,
 * not the URL below the mount), read once as tRPC reads it (see searchParamsOf), and its headers.
 */
interface SubscriptionRequest {
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
}

/** A query parameter, absent as undefined. */
function queryText(req: SubscriptionRequest, name: string): string | undefined {
  return req.query.get(name) ?? undefined;
}

/** `connectionParams`, as httpSubscriptionLink puts them in the query string (a JSON object). */
function connectionParamsOf(req: SubscriptionRequest): ConnectionParams {
  const raw = queryText(req, 'connectionParams');
  if (raw === undefined || raw.length > MAX_CONNECTION_PARAMS_CHARS) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const { authorization, apiKey } = parsed as Record<string, unknown>;
    return {
      authorization: typeof authorization === 'string' ? authorization : undefined,
      apiKey: typeof apiKey === 'string' ? apiKey : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * The raw subscription input: `?input=` (superjson), with a reconnect's Last-Event-ID merged in as
 * tRPC's adapter does. The procedure's own schema validates it.
 */
function rawInput(req: SubscriptionRequest): unknown {
  let input: unknown = undefined;
  const text = queryText(req, 'input');
  if (text !== undefined) {
    try {
      input = superjson.deserialize(
        JSON.parse(text) as Parameters<typeof superjson.deserialize>[0],
      );
    } catch (cause) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'invalid input', cause });
    }
  }
  const lastEventId =
    header(req.headers['last-event-id']) ??
    queryText(req, 'lastEventId') ??
    queryText(req, 'Last-Event-Id');
  if (lastEventId !== undefined && messageIdSchema.safeParse(lastEventId).success) {
    input =
      typeof input === 'object' && input !== null ? { ...input, lastEventId } : { lastEventId };
  }
  return input;
}

/** Answers a refused subscription as tRPC's adapter would: its status, the error in JSON. */
function writeRefusal(res: ServerResponse, error: TRPCError, path: string): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ error: superjson.serialize(relayErrorShape(error, path)) });
  res.statusCode = getHTTPStatusCodeFromError(error);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/** The wire of tRPC's httpSubscriptionLink, for a request to the tRPC mount. */
function trpcWire(req: SubscriptionRequest, res: ServerResponse, path: string): SseWire {
  return {
    params: connectionParamsOf(req),
    rawInput: () => rawInput(req),
    refuse: (error) => {
      writeRefusal(res, error, path);
    },
    opening: sseConnectedFrame,
    item: sseItemFrame,
    failure: (error) => sseErrorFrame(relayErrorShape(error, path)),
    ping: SSE_PING_FRAME,
  };
}

/** An open stream and the keep-alive its wire sends. */
interface OpenStream {
  readonly res: ServerResponse;
  readonly ping: string;
}

export function createSseInbox(deps: SseInboxDeps) {
  const { services, router, admission, log } = deps;
  const open = new Set<OpenStream>();

  // One timer for every stream instead of one per connection, pinging a slice per tick.
  const pings = createPingRounds<OpenStream>(SSE_PING_INTERVAL_MS, PING_SLICES, (stream) => {
    if (stream.res.writableLength === 0) stream.res.write(stream.ping);
  });

  const refuse = (res: ServerResponse, wire: SseWire, path: string, cause: unknown): void => {
    const error = toTRPCError(cause);
    if (error.code === 'INTERNAL_SERVER_ERROR')
      log.error('subscription request failed', { path, error: String(error.cause) });
    const retryAfter = retryAfterSeconds([error]);
    if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
    wire.refuse(error);
  };

  /** Serves the subscription at `path` on `res`, spoken to through `wire`. */
  const serve = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    wire: SseWire,
  ): Promise<void> => {
    const ctx: RequestContext = requestContext(
      req,
      services.trustProxyHops,
      'sse',
      [path],
      wire.params,
    );
    const abort = new AbortController();
    const connection: LiveConnection = {
      backlogBytes: () => res.writableLength,
      close: (reason) => {
        log.warn('live subscriber disconnected', { transport: 'sse', reason });
        res.destroy();
      },
    };
    attachConnection(ctx, connection);
    const stream: OpenStream = { res, ping: wire.ping };
    res.on('close', () => {
      open.delete(stream);
      pings.delete(stream);
      abort.abort();
    });

    let items: AsyncIterable<unknown>;
    try {
      // Tokens and the access key before anything else; the router asks again for this same
      // context and finds them spent. The input is decoded when the procedure reads it, after
      // its middlewares (the proof first), as tRPC's adapter does.
      await admission.admit(ctx);
      // A slot of the address's live-connection cap, shared with WebSockets, held while the
      // response is open.
      const release = services.liveConnections.acquire(ctx.clientIp);
      if (release === null) {
        throw new RelayFault(
          'TOO_MANY_CONNECTIONS',
          `at most ${services.liveConnections.cap} from one address`,
        );
      }
      res.once('close', release);
      const result: unknown = await callTRPCProcedure({
        router,
        path,
        getRawInput: () =>
          new Promise((resolve) => {
            resolve(wire.rawInput());
          }),
        ctx,
        type: 'subscription',
        signal: abort.signal,
        batchIndex: 0,
      });
      if (typeof result !== 'object' || result === null || !(Symbol.asyncIterator in result))
        throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'not a stream' });
      items = result as AsyncIterable<unknown>;
    } catch (cause) {
      refuse(res, wire, path, cause);
      return;
    }

    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    // `retry` shortens EventSource's 3 s default reconnect delay; jitter spreads a herd of
    // subscribers reconnecting after a relay restart.
    const retryMs = 500 + Math.floor(Math.random() * 1_500);
    res.write(wire.opening(retryMs));
    open.add(stream);
    pings.add(stream);

    try {
      for await (const item of items) {
        if (!isTrackedEnvelope(item)) throw new Error(`${path} yielded an untracked item`);
        const [id, data] = item;
        if (!res.write(wire.item(id, data))) {
          // Backpressure: wait for the socket to drain. A consumer that never drains is cut off
          // after `slowConsumerMs`, which closes the response (and so this wait). The timer is
          // armed only here, not per message: most writes never wait.
          await new Promise<void>((resolve) => {
            const watchdog = setTimeout(() => {
              connection.close(`slow consumer: nothing accepted for ${services.slowConsumerMs} ms`);
            }, services.slowConsumerMs);
            const done = (): void => {
              clearTimeout(watchdog);
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        }
        if (abort.signal.aborted) break;
      }
    } catch (cause) {
      const error = toTRPCError(cause);
      if (error.code === 'INTERNAL_SERVER_ERROR')
        log.error('subscription stream failed', { path, error: String(error.cause) });
      if (!res.destroyed) res.write(wire.failure(error));
    } finally {
      open.delete(stream);
      pings.delete(stream);
      res.end();
    }
  };

  /**
   * What becomes of an error that escapes `serve` (it catches what it expects), on both paths:
   * logged, answered 500 if no stream started, else the response is destroyed so nothing hangs.
   */
  const escaped =
    (res: ServerResponse, path: string) =>
    (error: unknown): void => {
      log.error('subscription request failed', {
        path,
        error: error instanceof Error ? error.message : String(error),
      });
      if (res.headersSent) res.destroy();
      else writeRefusal(res, new TRPCError({ code: 'INTERNAL_SERVER_ERROR' }), path);
    };

  return {
    /**
     * Express middleware for the tRPC mount: serves every request tRPC would resolve to a
     * subscription (it matches paths as the adapter does: `/trpc/x/inbox` and `/trpc/%69nbox` are
     * the inbox), passes everything else on.
     */
    middleware: (req: Request, res: Response, next: NextFunction): void => {
      const query = searchParamsOf(req.originalUrl);
      const path = subscriptionPathOf(req.path, query.get('batch') === '1');
      if (path === null) {
        next();
        return;
      }
      if (req.method !== 'GET') {
        const error = new TRPCError({
          code: 'METHOD_NOT_SUPPORTED',
          message: `Unsupported ${req.method}-request to subscription procedure at path "${path}"`,
        });
        res.setHeader('allow', 'GET');
        writeRefusal(res, error, path);
        return;
      }
      // Nothing reads a body sent with the GET: drained, or its socket would stay paused and miss
      // the client leaving, keeping a dead stream until a ping fails (found by test/fuzz.test.ts).
      req.resume();
      serve(req, res, path, trpcWire({ query, headers: req.headers }, res, path)).catch(
        escaped(res, path),
      );
    },
    /**
     * The same subscriptions, for a request before Express sees it: a GET at `/trpc/...` exactly
     * (what the procedure lane matches). Express would give each such request and response a
     * hidden class of their own (it swaps their prototypes), ≈ 2–3 KB of heap per open stream;
     * everything else — other methods, `/TRPC`, batches — is left to `middleware` behind Express.
     * True when the request was taken.
     */
    handle: (req: IncomingMessage, res: ServerResponse): boolean => {
      if (req.method !== 'GET' || req.url === undefined) return false;
      const call = trpcCallOf(req.url);
      if (call === null || call.batch || call.paths.length !== 1) return false;
      const [path = ''] = call.paths;
      if (!subscriptionPaths.has(path)) return false;
      req.resume();
      serve(req, res, path, trpcWire({ query: call.query, headers: req.headers }, res, path)).catch(
        escaped(res, path),
      );
      return true;
    },
    /**
     * Serves a GET for the subscription at `path` through another wire (the plain HTTP API); the
     * caller has checked the method and drained any body. Failures after the stream started end
     * it; `onError` hears of anything else that escapes.
     */
    serve: (
      req: IncomingMessage,
      res: ServerResponse,
      path: string,
      wire: SseWire,
      onError: (error: unknown) => void,
    ): void => {
      serve(req, res, path, wire).catch(onError);
    },
    size: () => open.size,
    close: (): void => {
      pings.close();
      for (const { res } of open) res.end();
    },
  };
}

export type SseInbox = ReturnType<typeof createSseInbox>;
