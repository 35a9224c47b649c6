// The plain HTTP API (PROTOCOL §3.8), beside tRPC on the same port: every procedure of the
// contract's table at `/v1/<path>` (plain-routes.ts), with bare JSON in and out instead of tRPC's
// superjson envelopes. It adds no procedures of its own: each call runs the router's procedure
// through the direct caller, as the procedure lane does — the same guards (rate
// limits, access key, mailbox proof with the procedure path as its scope, metrics), the same
// schemas, the same handlers — after the same request admission, so an answer differs from tRPC's
// only in its framing, and an error has the status tRPC gives it. As under tRPC's adapter, the
// body is read when the procedure reads its input, after its middlewares: a mailbox call without
// a proof is 401 whatever its body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DirectCaller } from '../direct-calls.js';
import type { RequestAdmission } from '../limits/request-admission.js';
import type { SseInbox } from '../live/sse-inbox.js';
import type { Logger } from '../log.js';
import { RelayFault, toTRPCError } from '../relay-error.js';
import { writePlainError, writePlainJson } from './plain-answer.js';
import { plainSseWire } from './plain-inbox.js';
import { PLAIN_API_PREFIX, plainRoutes, queryInput, type PlainRoute } from './plain-routes.js';
import { header, requestContext, searchParamsOf } from './request-context.js';

export interface PlainApiOptions {
  /** The router's procedures without tRPC's machinery (direct-calls.ts). */
  readonly call: DirectCaller;
  readonly admission: RequestAdmission;
  /** The SSE stream writer the subscriptions run through (shared with tRPC's SSE). */
  readonly inbox: Pick<SseInbox, 'serve'>;
  readonly maxBodyBytes: number;
  readonly log: Logger;
  /** Proxies whose `X-Forwarded-For` entries name the client (rate limits count it). */
  readonly trustProxyHops: number;
}

/** Serves the request and returns true when its path is the API's, else returns false. */
export type PlainApi = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The request's path, without its query (matched exactly: no decoding, no case folding). */
function pathnameOf(url: string): string {
  const queryAt = url.indexOf('?');
  return queryAt < 0 ? url : url.slice(0, queryAt);
}

/**
 * The request body as JSON, read at most up to `limit` bytes; reading stops at the limit. Empty
 * means no input. The content type is not checked: `curl -d` sends its own, and the body is JSON
 * whatever a header says (no procedure takes anything else).
 */
function bodyReader(req: IncomingMessage, limit: number): () => Promise<unknown> {
  let body: Promise<unknown> | undefined;
  const tooLarge = (): RelayFault =>
    new RelayFault('MESSAGE_TOO_LARGE', `the request body is larger than ${limit} bytes`);
  const read = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const declared = Number(header(req.headers['content-length']) ?? NaN);
      if (Number.isSafeInteger(declared) && declared > limit) {
        reject(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > limit) {
          req.pause();
          reject(tooLarge());
        } else chunks.push(chunk);
      });
      req.on('end', () => {
        const text = Buffer.concat(chunks, received).toString('utf8');
        if (text.trim() === '') {
          resolve(undefined);
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (cause) {
          reject(new RelayFault('BAD_INPUT', 'the request body is not JSON', { cause }));
        }
      });
      req.on('error', reject);
      // A client that leaves mid-body: nothing will be answered (a no-op after 'end').
      req.on('close', () => {
        reject(new RelayFault('BAD_INPUT', 'the request body ended early'));
      });
    });
  return () => (body ??= read());
}

export function createPlainApi(options: PlainApiOptions): PlainApi {
  const { call: callProcedure, admission, inbox, maxBodyBytes, log, trustProxyHops } = options;
  const routes = plainRoutes();

  const call = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: PlainRoute,
  ): Promise<void> => {
    const ctx = requestContext(req, trustProxyHops, 'http', [route.path]);
    let body: (() => Promise<unknown>) | undefined;
    // A long-poll stops waiting when its client goes away. Only queries wait (poll): a mutation is
    // spared the AbortController and the listener.
    const abort = route.definition.kind === 'query' ? new AbortController() : undefined;
    const onClose = (): void => {
      if (!res.writableEnded) abort?.abort();
    };
    if (abort !== undefined) res.once('close', onClose);
    try {
      // Rate-limit tokens and the access key, before anything of the request is read.
      await admission.admit(ctx);
      const rawInput = (): Promise<unknown> => {
        if (route.definition.input === undefined) return Promise.resolve(undefined);
        if (route.method === 'GET')
          return Promise.resolve(queryInput(route, searchParamsOf(req.url ?? '')));
        body ??= bodyReader(req, maxBodyBytes);
        return body();
      };
      const data: unknown = await callProcedure({
        path: route.path,
        type: route.definition.kind === 'query' ? 'query' : 'mutation',
        ctx,
        rawInput,
        signal: abort?.signal,
      });
      if (abort !== undefined) res.off('close', onClose);
      writePlainJson(res, 200, data);
    } catch (cause) {
      if (abort !== undefined) res.off('close', onClose);
      const error = toTRPCError(cause);
      if (error.code === 'INTERNAL_SERVER_ERROR')
        log.error('procedure failed', {
          path: route.path,
          error: error.cause?.message ?? error.message,
        });
      // A body refused for its size is left unread: the connection closes rather than reading it.
      if (error.code === 'PAYLOAD_TOO_LARGE' && !req.complete) res.shouldKeepAlive = false;
      writePlainError(res, error, route.path);
    }
    // A body nobody read (a refused call, a procedure without input) is discarded, so the
    // connection stays usable.
    if (!req.complete && res.shouldKeepAlive) req.resume();
  };

  const fail = (res: ServerResponse) => (error: unknown) => {
    log.error('request failed', { error: error instanceof Error ? error.message : String(error) });
    if (!res.headersSent) writePlainError(res, toTRPCError(error), '');
    else res.end();
  };

  return (req, res) => {
    const { url, method = '' } = req;
    if (url === undefined) return false;
    const pathname = pathnameOf(url);
    if (pathname !== PLAIN_API_PREFIX.slice(0, -1) && !pathname.startsWith(PLAIN_API_PREFIX))
      return false;
    const route = routes.get(pathname);
    if (route === undefined) {
      req.resume();
      writePlainError(
        res,
        new RelayFault(
          'UNKNOWN_PROCEDURE',
          `nothing at ${pathname}; GET /openapi.json lists the API`,
        ),
        '',
      );
      return true;
    }
    if (method !== route.method) {
      req.resume();
      writePlainError(
        res,
        new RelayFault('METHOD_NOT_ALLOWED', `${pathname} takes ${route.method}, not ${method}`),
        route.path,
        { allow: route.method },
      );
      return true;
    }
    if (route.definition.kind === 'subscription') {
      // Nothing reads a body sent with the GET: drained, so the socket notices the client leaving.
      req.resume();
      inbox.serve(req, res, route.path, plainSseWire(req, res, route), fail(res));
      return true;
    }
    if (route.method === 'GET') req.resume();
    call(req, res, route).catch(fail(res));
    return true;
  };
}
