// Calls to a relay on both of its HTTP APIs with raw fetch, every header chosen by the test: the
// plain API (`/v1/<path>`, bare JSON) and tRPC's (`/trpc/<path>`, superjson envelopes), each answer
// reduced to one comparable form, so a test can say "the plain API answers as tRPC does".
import { listProcedures } from '@deaddrop/contract';

export type Headers = Record<string, string>;

/** A call's outcome as either API reports it. */
export type Outcome =
  | { readonly status: number; readonly ok: true; readonly data: unknown }
  | {
      readonly status: number;
      readonly ok: false;
      readonly error: {
        readonly code: string;
        readonly reason: string;
        readonly message: string;
        readonly retryAfterMs?: number;
      };
    };

const kinds = new Map(
  listProcedures().map(({ path, definition }) => [path, definition.kind] as const),
);

function methodOf(path: string): 'GET' | 'POST' {
  return kinds.get(path) === 'mutation' ? 'POST' : 'GET';
}

/**
 * An input as query parameters, by the plain API's rule: each field its JSON text (a string as
 * itself), an array as the parameter repeated.
 */
function toQuery(input: unknown): string {
  if (typeof input !== 'object' || input === null) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(input)) {
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (item !== undefined)
        params.append(name, typeof item === 'string' ? item : JSON.stringify(item));
    }
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** The answer's body as JSON, or the text when it is none. */
async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

interface PlainErrorBody {
  error: { code: string; reason: string; message: string; retryAfterMs?: number };
}

export function isPlainError(body: unknown): body is PlainErrorBody {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = body.error;
  if (typeof error !== 'object' || error === null) return false;
  const fields = error as Record<string, unknown>;
  return (
    typeof fields.code === 'string' &&
    typeof fields.reason === 'string' &&
    typeof fields.message === 'string' &&
    (fields.retryAfterMs === undefined || typeof fields.retryAfterMs === 'number') &&
    Object.keys(fields).every((key) => ['code', 'reason', 'message', 'retryAfterMs'].includes(key))
  );
}

export interface PlainAnswer {
  readonly response: Response;
  readonly outcome: Outcome;
}

/** One call on the plain API, with the method the procedure's kind takes (or `method`). */
export async function plainCall(
  url: string,
  path: string,
  input: unknown,
  headers: Headers = {},
  method: string = methodOf(path),
): Promise<PlainAnswer> {
  const response = await fetch(
    `${url}/v1/${path}${method === 'GET' ? toQuery(input) : ''}`,
    method === 'GET'
      ? { headers }
      : {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          ...(input === undefined ? {} : { body: JSON.stringify(input) }),
        },
  );
  const body = await bodyOf(response);
  if (response.status === 200) return { response, outcome: { status: 200, ok: true, data: body } };
  if (!isPlainError(body))
    throw new Error(`not the plain error shape (${response.status}): ${JSON.stringify(body)}`);
  return { response, outcome: { status: response.status, ok: false, error: body.error } };
}

interface TrpcBody {
  result?: { data: { json: unknown; meta?: unknown } };
  error?: {
    json: {
      message: string;
      data: { code: string; reason: string; retryAfterMs?: number };
    };
  };
}

/**
 * One call on tRPC's HTTP API. Throws when a success carries superjson `meta`: the plain API's
 * bare JSON equals superjson's `json` only while no output needs it.
 */
export async function trpcCall(
  url: string,
  path: string,
  input: unknown,
  headers: Headers = {},
): Promise<Outcome> {
  const envelope = input === undefined ? undefined : JSON.stringify({ json: input });
  const response = await fetch(
    methodOf(path) === 'GET'
      ? `${url}/trpc/${path}${envelope === undefined ? '' : `?input=${encodeURIComponent(envelope)}`}`
      : `${url}/trpc/${path}`,
    methodOf(path) === 'GET'
      ? { headers }
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          ...(envelope === undefined ? {} : { body: envelope }),
        },
  );
  const body = (await bodyOf(response)) as TrpcBody;
  if (body.result !== undefined) {
    if (body.result.data.meta !== undefined)
      throw new Error(`${path} answered superjson meta: ${JSON.stringify(body.result.data)}`);
    return { status: response.status, ok: true, data: body.result.data.json };
  }
  if (body.error === undefined) throw new Error(`not a tRPC answer: ${JSON.stringify(body)}`);
  const { message, data } = body.error.json;
  return {
    status: response.status,
    ok: false,
    error: {
      code: data.code,
      reason: data.reason,
      message,
      ...(data.retryAfterMs === undefined ? {} : { retryAfterMs: data.retryAfterMs }),
    },
  };
}
