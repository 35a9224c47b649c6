// What every transport knows about a request before a procedure runs, built one way: the
// RequestContext the router's middlewares read (rate limits, access key, mailbox proof), and the
// procedure paths a URL names, read exactly as tRPC's HTTP adapter reads them so that no path can
// reach a procedure by a route the relay's own handlers do not see.
import type { IncomingMessage } from 'node:http';
import type { RequestContext } from '@deaddrop/contract';
import { clientAddress } from '../limits/client-address.js';

/** The first value of a header that may repeat. */
export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Credentials sent beside the headers by clients that cannot set headers (tRPC connectionParams). */
export interface ConnectionParams {
  readonly authorization?: string | undefined;
  readonly apiKey?: string | undefined;
}

export function requestContext(
  req: IncomingMessage,
  trustProxyHops: number,
  transport: RequestContext['transport'],
  paths: readonly string[],
  params: ConnectionParams = {},
): RequestContext {
  return {
    authorization: header(req.headers.authorization) ?? params.authorization,
    apiKey: header(req.headers['x-deaddrop-api-key']) ?? params.apiKey,
    paths,
    transport,
    clientIp: clientAddress(req, trustProxyHops),
  };
}

const TRPC_MOUNT = '/trpc';

export interface TrpcCall {
  /** Procedure paths in request order (one unless batched), decoded. */
  readonly paths: readonly string[];
  readonly batch: boolean;
}

/**
 * The calls a path below the tRPC mount names, exactly as tRPC's Express adapter resolves them: the
 * last segment (`/anything/inbox` is `inbox`), percent-decoded, split at commas for a batch
 * (`?batch=1`). Null for a malformed escape (the adapter answers 400).
 */
export function trpcCallAt(pathBelowMount: string, batch: boolean): TrpcCall | null {
  let last: string;
  try {
    last = decodeURIComponent(pathBelowMount.slice(pathBelowMount.lastIndexOf('/') + 1));
  } catch {
    return null;
  }
  return { paths: batch ? last.split(',') : [last], batch };
}

/**
 * A URL's query parameters as tRPC reads them (URLSearchParams: the first of a repeated name, no
 * limit on how many), never as Express's query parser does (arrays for repeats, 1000 keys at
 * most): where the two disagree, a request could be counted as one call and run as a batch.
 */
export function searchParamsOf(url: string): URLSearchParams {
  const queryAt = url.indexOf('?');
  return new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1));
}

/** The same paths, element by element. */
export function samePaths(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((path, index) => path === b[index]);
}

export interface TrpcUrl extends TrpcCall {
  readonly query: URLSearchParams;
}

/**
 * `trpcCallAt` for a raw request URL, as the procedure lane sees it before any routing: null
 * outside `/trpc` (matched exactly; Express, which also routes `/TRPC`, then hands the request on).
 */
export function trpcCallOf(url: string): TrpcUrl | null {
  // Node keeps a `#` of the request line in `req.url`; Express's URL parser drops the fragment.
  // Such a request is left to Express, which reads it as tRPC's adapter does.
  if (url.includes('#')) return null;
  const queryAt = url.indexOf('?');
  const pathname = queryAt < 0 ? url : url.slice(0, queryAt);
  if (pathname !== TRPC_MOUNT && !pathname.startsWith(`${TRPC_MOUNT}/`)) return null;
  const query = searchParamsOf(url);
  const call = trpcCallAt(pathname.slice(TRPC_MOUNT.length), query.get('batch') === '1');
  return call === null ? null : { ...call, query };
}
