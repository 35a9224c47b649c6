// Requests for the plain HTTP API (`/v1/<path>`, PROTOCOL §3.8) for the fuzz suite: real and
// mangled procedure paths, every method, near-valid inputs as query parameters or JSON bodies,
// junk queries and bodies, proofs of every kind, and the contract's verdict on each — which answer
// the relay owes it.
import fc from 'fast-check';
import type { RelayErrorReason } from '@deaddrop/contract';
import { CONTENT_TYPES } from './fuzz-calls.js';
import type { FuzzRequest } from './fuzz-http.js';
import { DEFINITIONS, inputValue, pathArb } from './fuzz-inputs.js';
import {
  authorizationFor,
  expectedAuthFailure,
  proofSpec,
  type ProofContext,
  type ProofSpec,
} from './fuzz-proofs.js';

export interface PlainSpec {
  readonly method: string;
  readonly path: string;
  readonly input: unknown;
  /** Query text sent as is instead of the input's parameters (GET). */
  readonly rawQuery: string | undefined;
  /** Body bytes sent as is instead of the input's JSON (POST and others). */
  readonly rawBody: string | Uint8Array | undefined;
  readonly contentType: string | undefined;
  readonly lastEventId: string | undefined;
  readonly proof: ProofSpec;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const RAW_QUERIES = [
  '?',
  '?&&',
  '?%zz',
  '?input=%7B%22json%22%3A%7B%7D%7D',
  '?limit=1&limit=2',
  '?limit=1e400',
  '?limit=-0',
  '?after=',
  '?after=0-0&after=1-1',
  '?agentId=%00',
  '?__proto__=1',
  '?constructor=x',
  '?%E0%A4%A=1',
];

/** The method the plain API serves `path` by, or undefined when no procedure has the path. */
export function routeMethod(path: string): 'GET' | 'POST' | undefined {
  const definition = DEFINITIONS.get(path);
  if (definition === undefined) return undefined;
  return definition.kind === 'mutation' ? 'POST' : 'GET';
}

function naturalMethod(path: string): string {
  return routeMethod(path) ?? 'GET';
}

export const plainSpec: fc.Arbitrary<PlainSpec> = pathArb.chain((path) =>
  fc.record({
    method: fc.oneof(
      { weight: 8, arbitrary: fc.constant(naturalMethod(path)) },
      { weight: 2, arbitrary: fc.constantFrom(...METHODS) },
    ),
    path: fc.constant(path),
    input: inputValue(path, 4096),
    rawQuery: fc.oneof(
      { weight: 8, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_QUERIES) },
    ),
    rawBody: fc.oneof(
      { weight: 10, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 500 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
      { weight: 1, arbitrary: fc.constantFrom('', '{', 'null', '[]', '"x"', '{"json":{}}') },
    ),
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/json') },
      { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    ),
    lastEventId: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom('', '0-0', '1-1', 'x', '99999999999999999-0') },
    ),
    proof: proofSpec({ valid: 4 }),
  }),
);

/** JSON text for any value, or a text that is not JSON where JSON cannot carry it (a BigInt). */
function jsonText(value: unknown): string {
  // JSON.stringify gives undefined (despite its type) for undefined and functions.
  if (value === undefined || typeof value === 'function') return 'undefined';
  try {
    return JSON.stringify(value);
  } catch {
    return typeof value === 'bigint' ? value.toString() : '{unserialisable';
  }
}

/** The input's fields as query parameters, by the plain API's rule (arrays repeated). */
function queryOf(input: unknown): string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(input)) {
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value])
      params.append(name, typeof item === 'string' ? item : jsonText(item));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export function plainRequest(spec: PlainSpec, proofs: Omit<ProofContext, 'scope'>): FuzzRequest {
  const authorization = authorizationFor(spec.proof, { ...proofs, scope: spec.path });
  const headers: Record<string, string> = {
    ...(spec.contentType === undefined ? {} : { 'content-type': spec.contentType }),
    ...(authorization === undefined ? {} : { authorization }),
    ...(spec.lastEventId === undefined ? {} : { 'last-event-id': spec.lastEventId }),
  };
  const query = spec.rawQuery ?? (spec.method === 'GET' ? queryOf(spec.input) : '');
  const body =
    spec.method === 'GET' || spec.method === 'HEAD'
      ? undefined
      : (spec.rawBody ?? (spec.input === undefined ? undefined : jsonText(spec.input)));
  return {
    method: spec.method,
    target: `/v1/${spec.path}${query}`,
    headers,
    ...(body === undefined ? {} : { body }),
    // A stream is accepted once the relay has opened it.
    streamUntil: ': connected',
  };
}

/** The refusal the relay must answer before it reads any input, or null when it may read it. */
export function expectedPlainRefusal(spec: PlainSpec): RelayErrorReason | null {
  const method = routeMethod(spec.path);
  if (method === undefined) return 'UNKNOWN_PROCEDURE';
  if (method !== spec.method) return 'METHOD_NOT_ALLOWED';
  if (DEFINITIONS.get(spec.path)?.auth !== 'mailbox') return null;
  return expectedAuthFailure(spec.proof, spec.path);
}
