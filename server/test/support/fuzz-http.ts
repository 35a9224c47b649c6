// Raw HTTP for the fuzz suite (server/test/fuzz.test.ts): requests whose every byte and header the
// test chooses, each bounded by a timeout and counted, and the checks every answer must pass.
import {
  Agent,
  request as httpRequest,
  type ClientRequest,
  type IncomingHttpHeaders,
} from 'node:http';
import { connect } from 'node:net';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { expect } from 'vitest';
import { isRelayErrorReason, type RelayErrorShape } from '@deaddrop/contract';

/** An answer slower than this counts as a hung request. */
const REQUEST_TIMEOUT_MS = 5_000;

export interface FuzzRequest {
  readonly method: string;
  /** Path and query exactly as sent. */
  readonly target: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** For an event stream: stop reading once its text contains this (else read to its end). */
  readonly streamUntil?: string;
}

export interface FuzzAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  readonly json: unknown;
  /** False when the test stopped reading an event stream the relay kept open. */
  readonly ended: boolean;
}

const tally = new Map<string, number>();
let label = 'setup';

/** Counts the requests that follow under `name` (one line of the suite's summary). */
export function countRequestsAs(name: string): void {
  label = name;
}

export function requestTally(): ReadonlyMap<string, number> {
  return tally;
}

function tick(): void {
  tally.set(label, (tally.get(label) ?? 0) + 1);
}

const statusClasses = new Map<string, number>();

/** How many answers had each status class (`2xx`, `4xx`, …; `none` for raw connections closed silently). */
export function statusTally(): ReadonlyMap<string, number> {
  return statusClasses;
}

function countStatus(status: number | undefined): void {
  const name = status === undefined ? 'none' : `${String(status).charAt(0)}xx`;
  statusClasses.set(name, (statusClasses.get(name) ?? 0) + 1);
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** Closes the pooled keep-alive connections (before the relays stop). */
export function closeFuzzConnections(): void {
  agent.destroy();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function describeRequest(request: FuzzRequest): string {
  const headers = JSON.stringify(request.headers ?? {});
  const body =
    request.body === undefined
      ? ''
      : typeof request.body === 'string'
        ? ` body=${JSON.stringify(request.body.slice(0, 300))}`
        : ` body=<${request.body.length} bytes>`;
  return `${request.method} ${request.target.slice(0, 300)} headers=${headers.slice(0, 500)}${body}`;
}

export function isEventStream(answer: Pick<FuzzAnswer, 'headers'>): boolean {
  return answer.headers['content-type']?.startsWith('text/event-stream') ?? false;
}

/** Pooled connections that may turn out closed in a row before a request counts as failed. */
const MAX_STALE_SOCKETS = 3;

/** One request over node:http (which leaves paths and headers as given), answered or rejected. */
export function send(baseUrl: string, request: FuzzRequest): Promise<FuzzAnswer> {
  tick();
  const { hostname, port } = new URL(baseUrl);
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? Buffer.from(request.body, 'utf8')
        : Buffer.from(request.body);
  const headers: Record<string, string> = { ...request.headers };
  if (body !== undefined) headers['content-length'] ??= String(body.length);
  return new Promise<FuzzAnswer>((resolve, reject) => {
    let settled = false;
    let current: ClientRequest | undefined;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${message}: ${describeRequest(request)}`));
    };
    // A body that never ends is as hung as an answer that never starts.
    const timer = setTimeout(() => {
      fail(`hung: no complete answer within ${REQUEST_TIMEOUT_MS} ms`);
      current?.destroy();
    }, REQUEST_TIMEOUT_MS);
    const attempt = (staleSocketsSeen: number): void => {
      let answered = false;
      const req = httpRequest(
        { host: hostname, port, method: request.method, path: request.target, headers, agent },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          const finish = (ended: boolean): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            countStatus(res.statusCode);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text,
              json: parseJson(text),
              ended,
            });
          };
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            const until = request.streamUntil;
            if (
              until !== undefined &&
              isEventStream(res) &&
              Buffer.concat(chunks).toString('utf8').includes(until)
            ) {
              finish(false);
              req.destroy();
            }
          });
          res.on('end', () => {
            finish(true);
          });
          res.on('error', (error) => {
            fail(`answer cut off (${error.message})`);
          });
        },
      );
      current = req;
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A pooled connection the relay closed as idle (Node's keep-alive timeout) just as this
        // request went out on it: the relay never read it, so it goes again on another
        // connection, as Node documents for `reusedSocket`. Not a finding about the relay.
        if (
          req.reusedSocket &&
          !answered &&
          !settled &&
          error.code === 'ECONNRESET' &&
          staleSocketsSeen < MAX_STALE_SOCKETS
        ) {
          attempt(staleSocketsSeen + 1);
          return;
        }
        // A relay may answer (413, 400) before it has read a whole body and close the connection:
        // the answer counts, the failed upload does not.
        if (!answered) fail(error.message);
      });
      req.end(body);
    };
    attempt(0);
  });
}

export interface RawAnswer {
  readonly text: string;
  /** Status codes of the HTTP responses found in the bytes received. */
  readonly statuses: readonly number[];
}

/** Bytes written straight to a TCP connection, then half-closed; whatever comes back. */
export function sendRaw(baseUrl: string, bytes: Uint8Array): Promise<RawAnswer> {
  tick();
  const { hostname, port } = new URL(baseUrl);
  return new Promise<RawAnswer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`hung: connection still open after ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the relay refused the request is an answer too.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((match) =>
        Number(match[1]),
      );
      if (statuses.length === 0) countStatus(undefined);
      statuses.forEach(countStatus);
      resolve({ text, statuses });
    });
    socket.end(bytes);
  });
}

/** Whether `value` holds a `key` property anywhere (e.g. a leaked `stack`). */
function hasKeyDeep(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((item) => hasKeyDeep(item, key));
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([name, inner]) => name === key || hasKeyDeep(inner, key));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const DATA_KEYS = new Set(['code', 'httpStatus', 'path', 'reason', 'retryAfterMs']);

/** Checks one `{ error: { json: shape } }` envelope against the relay's formatter; returns the shape. */
function expectErrorEnvelope(envelope: unknown, context: string): RelayErrorShape {
  const error = isRecord(envelope) ? envelope.error : undefined;
  expect(isRecord(error), `error envelope: ${context}`).toBe(true);
  const wrapper = error as Record<string, unknown>;
  // superjson's wrapping: `json`, and `meta` only for values JSON cannot carry.
  expect(
    Object.keys(wrapper).every((key) => key === 'json' || key === 'meta'),
    context,
  ).toBe(true);
  const shape = wrapper.json;
  expect(isRecord(shape), `error json: ${context}`).toBe(true);
  const { message, code, data } = shape as Record<string, unknown>;
  expect(typeof message, `error message: ${context}`).toBe('string');
  expect(isRecord(data), `error data: ${context}`).toBe(true);
  const fields = data as Record<string, unknown>;
  expect(
    Object.keys(fields).filter((key) => !DATA_KEYS.has(key)),
    `unexpected error data: ${context}`,
  ).toEqual([]);
  expect(isRelayErrorReason(fields.reason), `catalogued reason: ${context}`).toBe(true);
  expect(typeof fields.code, context).toBe('string');
  expect(Object.hasOwn(TRPC_ERROR_CODES_BY_KEY, String(fields.code)), context).toBe(true);
  const numeric = TRPC_ERROR_CODES_BY_KEY[fields.code as keyof typeof TRPC_ERROR_CODES_BY_KEY];
  expect(code, `JSON-RPC code matches ${String(fields.code)}: ${context}`).toBe(numeric);
  expect(fields.httpStatus, `4xx: ${context}`).toSatisfy(
    (status: unknown) => typeof status === 'number' && status >= 400 && status < 500,
  );
  return shape as RelayErrorShape;
}

export type CallOutcome =
  | { readonly ok: true; readonly data: unknown }
  | { readonly ok: false; readonly error: RelayErrorShape };

/**
 * A JSON answer from tRPC or the procedure lane, checked as a whole: never 5xx, no stack anywhere,
 * well-formed envelopes, and the status tRPC derives from them (one status, or 207 when calls
 * differ). Returns each call's outcome; a request refused as a whole gives one error.
 */
export function callOutcomes(answer: FuzzAnswer, context: string): CallOutcome[] {
  expect(answer.status, `no 5xx: ${context}\n${answer.text.slice(0, 500)}`).toBeLessThan(500);
  expect(hasKeyDeep(answer.json, 'stack'), `no stack: ${context}`).toBe(false);
  const envelopes: unknown[] = Array.isArray(answer.json) ? answer.json : [answer.json];
  expect(answer.json !== undefined, `a JSON body: ${context}\n${answer.text.slice(0, 500)}`).toBe(
    true,
  );
  const outcomes = envelopes.map((envelope): CallOutcome => {
    if (isRecord(envelope) && 'result' in envelope) {
      const result = envelope.result;
      expect(isRecord(result) && isRecord(result.data), `result envelope: ${context}`).toBe(true);
      return {
        ok: true,
        data: ((result as Record<string, unknown>).data as { json?: unknown }).json,
      };
    }
    return { ok: false, error: expectErrorEnvelope(envelope, context) };
  });
  const statuses = new Set(
    outcomes.map((outcome) => (outcome.ok ? 200 : outcome.error.data.httpStatus)),
  );
  const expected = statuses.size === 1 ? [...statuses][0] : 207;
  expect(answer.status, `status follows the calls' outcomes: ${context}`).toBe(expected);
  return outcomes;
}

/** An answer refusing a request: a 4xx whose every call failed; returns the errors. */
export function expectRefusal(answer: FuzzAnswer, context: string): RelayErrorShape[] {
  const outcomes = callOutcomes(answer, context);
  return outcomes.map((outcome) => {
    expect(outcome.ok, `refused: ${context}`).toBe(false);
    return (outcome as { error: RelayErrorShape }).error;
  });
}
