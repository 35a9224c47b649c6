// Procedure calls for the fuzz suite: what a call or batch asks for, the HTTP request it becomes,
// and the contract's verdict on it — whether a success would be legitimate — computed the way tRPC
// reads inputs (PROTOCOL §3), so a relay that accepts what the contract refuses is caught.
import fc from 'fast-check';
import superjson, { type SuperJSONResult } from 'superjson';
import { scopeForPaths } from '@deaddrop/contract';
import type { FuzzRequest } from './fuzz-http.js';
import { batchInputText, inputText } from './fuzz-encodings.js';
import { DEFINITIONS, inputValue, pathArb } from './fuzz-inputs.js';
import {
  authorizationFor,
  expectedAuthFailure,
  type ProofContext,
  type ProofSpec,
} from './fuzz-proofs.js';

export interface CallSpec {
  readonly method: 'GET' | 'POST';
  readonly paths: readonly string[];
  /** The `batch` query parameter as sent (undefined: none). */
  readonly batch: string | undefined;
  /** The input text: GET's `input` parameter, POST's body. */
  readonly input: string | undefined;
  /** Sends the input where the method does not read it (a POST's query, a GET's body). */
  readonly misplaced: boolean;
  readonly contentType: string | undefined;
  readonly proof: ProofSpec;
}

export const CONTENT_TYPES = [
  undefined,
  '',
  'text/plain',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/jsonl',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json, text/plain',
  'application/jsonx',
  'json',
];

function naturalMethod(path: string): 'GET' | 'POST' {
  return DEFINITIONS.get(path)?.kind === 'mutation' ? 'POST' : 'GET';
}

function callShape(method: 'GET' | 'POST', proof: fc.Arbitrary<ProofSpec>) {
  return fc.record({
    misplaced: fc.oneof({ weight: 12, arbitrary: fc.constant(false) }, fc.constant(true)),
    contentType: fc.oneof(
      { weight: method === 'POST' ? 10 : 1, arbitrary: fc.constant('application/json') },
      { weight: method === 'POST' ? 2 : 10, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    ),
    proof,
  });
}

/** One call, mostly of a real procedure with its own method and a near-valid input. */
export function singleCall(
  maxMessageBytes: number,
  proof: fc.Arbitrary<ProofSpec>,
): fc.Arbitrary<CallSpec> {
  return pathArb.chain((path) =>
    fc
      .record({
        method: fc.oneof(
          { weight: 6, arbitrary: fc.constant(naturalMethod(path)) },
          { weight: 1, arbitrary: fc.constantFrom<'GET' | 'POST'>('GET', 'POST') },
        ),
        batch: fc.oneof(
          { weight: 8, arbitrary: fc.constant(undefined) },
          fc.constantFrom('0', 'true', ''),
        ),
        input: inputText(inputValue(path, maxMessageBytes)),
      })
      .chain((call) =>
        callShape(call.method, proof).map((shape) => ({ ...call, ...shape, paths: [path] })),
      ),
  );
}

/** A batch: a few calls or more than the relay allows, of one kind or mixed, inputs broken. */
export function batchCall(
  maxMessageBytes: number,
  proof: fc.Arbitrary<ProofSpec>,
): fc.Arbitrary<CallSpec> {
  const paths = fc.oneof(
    { weight: 6, arbitrary: fc.array(pathArb, { minLength: 1, maxLength: 5 }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom('poll', 'stats', 'directory.lookup', 'send', 'delete', 'info'),
          fc.integer({ min: 2, max: 6 }),
        )
        .map(([path, count]) => new Array<string>(count).fill(path)),
    },
    {
      weight: 1,
      arbitrary: fc.array(fc.constantFrom('poll', 'stats', 'info'), {
        minLength: 95,
        maxLength: 110,
      }),
    },
  );
  return paths.chain((list) =>
    fc
      .record({
        method: fc.oneof(
          { weight: 4, arbitrary: fc.constant(naturalMethod(list[0] ?? '')) },
          { weight: 1, arbitrary: fc.constantFrom<'GET' | 'POST'>('GET', 'POST') },
        ),
        batch: fc.oneof(
          { weight: 8, arbitrary: fc.constant('1') },
          fc.constantFrom('0', 'true', ''),
        ),
        input: batchInputText(list, maxMessageBytes),
      })
      .chain((call) =>
        callShape(call.method, proof).map((shape) => ({ ...call, ...shape, paths: list })),
      ),
  );
}

export function isBatch(spec: CallSpec): boolean {
  return spec.batch === '1';
}

/** The paths the relay resolves: tRPC and the lane decode the URL's path, then split a batch. */
function resolvedPaths(spec: CallSpec): readonly string[] {
  let joined: string;
  try {
    joined = decodeURIComponent(spec.paths.join(','));
  } catch {
    return spec.paths; // answered 400 before any path is resolved
  }
  return isBatch(spec) ? joined.split(',') : [joined];
}

/** How many calls the relay sees in the request. */
export function callCount(spec: CallSpec): number {
  return resolvedPaths(spec).length;
}

/** Served by the inbox's SSE middleware rather than tRPC: a GET naming the inbox alone. */
export function isInboxStream(spec: CallSpec): boolean {
  return spec.method === 'GET' && resolvedPaths(spec).join(',') === 'inbox';
}

function scopeOf(spec: CallSpec): string {
  return scopeForPaths(resolvedPaths(spec));
}

export function requestFor(spec: CallSpec, proofContext: Omit<ProofContext, 'scope'>): FuzzRequest {
  const query = new URLSearchParams();
  if (spec.batch !== undefined) query.set('batch', spec.batch);
  const inQuery = (spec.method === 'GET') !== spec.misplaced;
  if (inQuery && spec.input !== undefined) query.set('input', spec.input);
  const search = query.size > 0 ? `?${query.toString()}` : '';
  const authorization = authorizationFor(spec.proof, { ...proofContext, scope: scopeOf(spec) });
  const headers: Record<string, string> = {};
  if (spec.contentType !== undefined) headers['content-type'] = spec.contentType;
  if (authorization !== undefined) headers.authorization = authorization;
  return {
    method: spec.method,
    target: `/trpc/${spec.paths.join(',')}${search}`,
    headers,
    ...(!inQuery && spec.input !== undefined ? { body: spec.input } : {}),
    streamUntil: 'event: connected',
  };
}

function isJsonContentType(value: string | undefined): boolean {
  return value?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Each call's input as tRPC reads it (the SSE middleware reads a single one), or null if unreadable. */
function inputsOf(spec: CallSpec, count: number): unknown[] | null {
  const text = spec.misplaced ? undefined : spec.input;
  if (text === undefined || text === '') return new Array<unknown>(count).fill(undefined);
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isBatch(spec) || isInboxStream(spec))
      return [superjson.deserialize(parsed as SuperJSONResult)];
    if (!isObject(parsed)) return null;
    return Array.from({ length: count }, (_, index) => {
      const input = parsed[String(index)];
      return input === undefined ? undefined : superjson.deserialize(input as SuperJSONResult);
    });
  } catch {
    return null;
  }
}

/**
 * Whether the contract allows call `index` to succeed: a real procedure, called with its method
 * (a POST as JSON), a good proof where one is needed, and an input its schema accepts.
 */
export function successAllowed(spec: CallSpec, index: number): boolean {
  const definition = DEFINITIONS.get(resolvedPaths(spec)[index] ?? '');
  if (definition === undefined) return false;
  const stream = isInboxStream(spec);
  if (definition.kind === 'subscription' && !stream) return false;
  if (spec.method !== (definition.kind === 'mutation' ? 'POST' : 'GET')) return false;
  if (definition.auth === 'mailbox' && expectedAuthFailure(spec.proof, scopeOf(spec)) !== null)
    return false;
  // tRPC reads a non-JSON body (octet-stream, form data) as a stream or form, which only an input
  // parser refuses: a mutation that takes no input (`hooks.clear`) ignores its body, as it
  // ignores a JSON one.
  if (definition.input === undefined) return true;
  if (spec.method === 'POST' && !isJsonContentType(spec.contentType)) return false;
  const inputs = inputsOf(spec, stream ? 1 : callCount(spec));
  if (inputs === null) return false;
  let input = inputs[stream ? 0 : index];
  // The SSE middleware reads no input as `{}` (tRPC would read `undefined`: the schema defaults it).
  if (stream && input === undefined) input = {};
  return definition.input.safeParse(input).success;
}
