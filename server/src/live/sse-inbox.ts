// The inbox over SSE, served beside tRPC rather than through it. It speaks tRPC's SSE wire format
// (events `connected`, `ping`, `serialized-error`; `id:` on every message), so httpSubscriptionLink
// clients cannot tell the difference, but it costs far less per subscriber: no web-streams pipeline
// and no timer per connection (one shared ping round for all), which is what lets one relay process
// hold tens of thousands of subscribers. It also authenticates before answering, so a refused
// request gets a 401 and no stream (PROTOCOL §3).
import type { NextFunction, Request, Response } from 'express';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import superjson from 'superjson';
import { messageIdSchema, procedures, type RequestContext } from '@deaddrop/contract';
import type { MailboxAuth } from '../auth/mailbox-auth.js';
import { streamInbox } from '../handlers/inbox.js';
import { clientAddress } from '../limits/client-address.js';
import type { Logger } from '../log.js';
import { RelayFault, relayErrorShape, retryAfterSeconds, toTRPCError } from '../relay-error.js';
import type { RelayServices } from '../services.js';
import type { LiveConnection } from './connections.js';
import { createPingRounds } from './ping-rounds.js';

const PATH = 'inbox';
export const SSE_PING_INTERVAL_MS = 15_000;
/** Ticks per ping interval: each pings 1/PING_SLICES of the streams. */
const PING_SLICES = 150;
/** Advised to clients in the `connected` event: reconnect when nothing (not even a ping) arrives. */
export const SSE_RECONNECT_AFTER_INACTIVITY_MS = 40_000;

export interface SseInboxDeps {
  readonly services: RelayServices;
  readonly auth: MailboxAuth;
  readonly apiKeyAccepted: ((key: string | undefined) => boolean) | null;
  readonly log: Logger;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Whether tRPC would resolve this path (below its mount) to the inbox procedure. */
function isInboxPath(path: string): boolean {
  try {
    return decodeURIComponent(path) === `/${PATH}`;
  } catch {
    return false; // a malformed escape: tRPC's 400 to give
  }
}

function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

/** `connectionParams`, as httpSubscriptionLink puts them in the query string (a JSON object). */
function connectionParamsOf(req: Request): Record<string, string> {
  const raw = queryText(req, 'connectionParams');
  if (raw === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
  } catch {
    return {};
  }
}

/** The subscription input: `?input=` (superjson), with the reconnect's Last-Event-ID merged in. */
function inboxInput(req: Request) {
  let input: unknown = {};
  const raw = queryText(req, 'input');
  if (raw !== undefined) {
    try {
      input = superjson.deserialize(JSON.parse(raw) as Parameters<typeof superjson.deserialize>[0]);
    } catch (cause) {
      throw new TRPCError({ code: 'PARSE_ERROR', message: 'input is not superjson', cause });
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
  const parsed = procedures.inbox.input.safeParse(input);
  if (!parsed.success)
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'invalid input', cause: parsed.error });
  return parsed.data;
}

export function createSseInbox(deps: SseInboxDeps) {
  const { services, auth, log } = deps;
  const open = new Set<Response>();

  // One timer for every stream instead of one per connection, pinging a slice per tick.
  const pings = createPingRounds<Response>(SSE_PING_INTERVAL_MS, PING_SLICES, (res) => {
    if (res.writableLength === 0) res.write('event: ping\ndata: \n\n');
  });

  const serve = async (req: Request, res: Response): Promise<void> => {
    // Measured as the router's middleware measures a WebSocket subscription: until the stream starts.
    const started = performance.now();
    const params = connectionParamsOf(req);
    const ctx: RequestContext = {
      authorization: header(req.headers.authorization) ?? params.authorization,
      apiKey: header(req.headers['x-deaddrop-api-key']) ?? params.apiKey,
      paths: [PATH],
      transport: 'sse',
      clientIp: clientAddress(req, services.trustProxyHops),
    };
    let agentId: string;
    let input: ReturnType<typeof inboxInput>;
    try {
      // As the router's middlewares do: rate limits, then the access key, then the proof.
      await services.limiter.calls(ctx.clientIp, 1);
      await services.limiter.subscription(ctx.clientIp);
      if (deps.apiKeyAccepted !== null && !deps.apiKeyAccepted(ctx.apiKey))
        throw new RelayFault('API_KEY_INVALID');
      agentId = await auth.verify(ctx);
      input = inboxInput(req);
    } catch (cause) {
      const error = toTRPCError(cause);
      services.metrics.procedureCalled(PATH, error.code, (performance.now() - started) / 1000);
      if (error.code === 'INTERNAL_SERVER_ERROR')
        log.error('inbox request failed', { error: String(error.cause) });
      const retryAfter = retryAfterSeconds([error]);
      if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
      res
        .status(getHTTPStatusCodeFromError(error))
        .json({ error: superjson.serialize(relayErrorShape(error, PATH)) });
      return;
    }

    services.metrics.procedureCalled(PATH, 'OK', (performance.now() - started) / 1000);
    const abort = new AbortController();
    const connection: LiveConnection = {
      backlogBytes: () => res.writableLength,
      close: (reason) => {
        log.warn('live subscriber disconnected', { transport: 'sse', reason });
        res.destroy();
      },
    };
    res.on('close', () => {
      open.delete(res);
      pings.delete(res);
      abort.abort();
    });
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    // `retry` shortens EventSource's 3 s default reconnect delay; jitter spreads a herd of
    // subscribers reconnecting after a relay restart.
    const retryMs = 500 + Math.floor(Math.random() * 1_500);
    res.write(
      `retry: ${retryMs}\nevent: connected\ndata: ${JSON.stringify({ reconnectAfterInactivityMs: SSE_RECONNECT_AFTER_INACTIVITY_MS })}\n\n`,
    );
    open.add(res);
    pings.add(res);

    try {
      for await (const [id, message] of streamInbox(
        services,
        agentId,
        input,
        abort.signal,
        connection,
      )) {
        // A stored message holds only strings and numbers, for which superjson's form is
        // `{ json }` with no meta: written directly, without its walk over every event.
        if (!res.write(`id: ${id}\ndata: ${JSON.stringify({ json: message })}\n\n`)) {
          // Backpressure: wait for the socket to drain. A consumer that never drains is cut off
          // by the stream's slow-consumer watchdog, which closes the response (and so this wait).
          await new Promise<void>((resolve) => {
            const done = (): void => {
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
        log.error('inbox stream failed', { error: String(error.cause) });
      if (!res.destroyed)
        res.write(
          `event: serialized-error\ndata: ${JSON.stringify(superjson.serialize(relayErrorShape(error, PATH)))}\n\n`,
        );
    } finally {
      open.delete(res);
      pings.delete(res);
      res.end();
    }
  };

  return {
    /** Express middleware for the tRPC mount: serves GET inbox requests, passes everything else on. */
    middleware: (req: Request, res: Response, next: NextFunction): void => {
      // tRPC decodes the path (`/trpc/%69nbox` is `inbox`) and would stream a refusal with a 200:
      // every request it would route to the inbox is answered here (found by test/fuzz.test.ts).
      if (!isInboxPath(req.path)) {
        next();
        return;
      }
      if (req.method !== 'GET') {
        const error = new TRPCError({
          code: 'METHOD_NOT_SUPPORTED',
          message: `Unsupported ${req.method}-request to subscription procedure at path "${PATH}"`,
        });
        res.status(405).json({ error: superjson.serialize(relayErrorShape(error, PATH)) });
        return;
      }
      // Nothing reads a body sent with the GET: drained, or its socket would stay paused and miss
      // the client leaving, keeping a dead stream until a ping fails (found by test/fuzz.test.ts).
      req.resume();
      serve(req, res).catch(next);
    },
    size: () => open.size,
    close: (): void => {
      pings.close();
      for (const res of open) res.end();
    },
  };
}
