// HTTP-level abuse for the fuzz suite: methods tRPC does not serve, odd and encoded paths, junk
// query strings, wrong content types, bodies that are not JSON or too large; and whole requests
// mutated byte by byte on a raw TCP connection.
import fc from 'fast-check';
import { CONTENT_TYPES } from './fuzz-calls.js';
import type { FuzzRequest } from './fuzz-http.js';
import { inputText, superjsonText } from './fuzz-encodings.js';
import { anyValue, pathArb } from './fuzz-inputs.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
const QUERIES = [
  '',
  '?',
  '?input=',
  '?input=%7B',
  '?batch=1',
  '?batch=1&input=1',
  '?batch=1&batch=0',
  '?connectionParams=%5B',
  '?connectionParams=%7B%22authorization%22%3A1%7D',
  '?input=1&input=2',
  '?x=1',
  '?%zz',
  '?input=%E0%A4%A',
];
const ODD_TARGETS = [
  '/',
  '/trpc',
  '/trpc/',
  '/healthz',
  '/TRPC/info',
  '//trpc/info',
  '/trpc//info',
  '/trpc/info/',
  '/trpc/inbox/',
  '/trpc/%69nbox',
  '/trpc/inbo%78?input=%7B%7D',
  '/trpc/info/../send',
  '/trpc/%2e%2e/healthz',
  '/trpc/send%00',
  '/favicon.ico',
];

/** Larger than the relay's body limit for 4 KiB messages (about 1.06 MB). */
const OVERSIZED_BODY = `{"json":{"to":"bob","ciphertext":"${'A'.repeat(1_100_000)}"}}`;

export const abusiveRequest: fc.Arbitrary<FuzzRequest> = fc.record(
  {
    method: fc.constantFrom(...METHODS),
    target: fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(pathArb, fc.constantFrom(...QUERIES))
          .map(([path, query]) => `/trpc/${path}${query}`),
      },
      { weight: 2, arbitrary: fc.constantFrom(...ODD_TARGETS) },
      {
        weight: 1,
        arbitrary: fc
          .string({ unit: fc.constantFrom(...Array.from('abz/._-%')), maxLength: 20 })
          .map((path) => `/${path}`),
      },
    ),
    headers: fc.record(
      {
        'content-type': fc.constantFrom(
          ...CONTENT_TYPES.filter((type) => type !== undefined),
          'application/json',
        ),
        accept: fc.constantFrom('text/event-stream', 'application/jsonl', '*/*', 'text/html'),
        'trpc-accept': fc.constant('application/jsonl'),
        'content-encoding': fc.constantFrom('gzip', 'br', 'identity'),
        'x-deaddrop-api-key': fc.string({ maxLength: 20 }),
        'last-event-id': fc.string({ maxLength: 20 }),
      },
      { requiredKeys: [] },
    ),
    body: fc.oneof(
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2_000 }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 500 }) },
      { weight: 2, arbitrary: inputText(anyValue).map((text) => text ?? '') },
      { weight: 1, arbitrary: fc.constant(superjsonText({ to: 'bob', ciphertext: 'AQ' })) },
      { weight: 1, arbitrary: fc.constant(OVERSIZED_BODY) },
    ),
  },
  { requiredKeys: ['method', 'target', 'headers'] },
);

/** Requests a relay serves, as bytes on the wire: the material the byte mutations start from. */
function rawRequest(head: string, body = ''): string {
  const length = body === '' ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`;
  return `${head}\r\nhost: 127.0.0.1\r\n${length}\r\n${body}`;
}
const RAW_REQUESTS = [
  rawRequest(
    'POST /trpc/send HTTP/1.1\r\ncontent-type: application/json',
    superjsonText({ to: 'bob', ciphertext: 'AQ' }),
  ),
  rawRequest(
    'POST /trpc/send,send?batch=1 HTTP/1.1\r\ncontent-type: application/json',
    '{"0":{"json":{}},"1":{"json":{}}}',
  ),
  rawRequest('GET /trpc/poll,stats?batch=1&input=%7B%7D HTTP/1.1\r\nauthorization: DeadDrop e30'),
  rawRequest(
    'GET /trpc/inbox?input=%7B%22json%22%3A%7B%7D%7D HTTP/1.1\r\naccept: text/event-stream',
  ),
  rawRequest('GET /trpc/info HTTP/1.1'),
  rawRequest(
    'GET /trpc/directory.lookup?input=%7B%22json%22%3A%7B%22agentId%22%3A%22bob%22%7D%7D HTTP/1.1',
  ),
  `POST /trpc/directory.register HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
].map((text) => Buffer.from(text, 'latin1'));

const mutation = fc.record({
  op: fc.constantFrom('set', 'insert', 'delete', 'repeat'),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
  length: fc.integer({ min: 1, max: 16 }),
});
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Buffer, { op, at, byte, length }: Mutation): Buffer {
  const i = at % (bytes.length + 1);
  switch (op) {
    case 'set':
      return Buffer.concat([bytes.subarray(0, i), Buffer.of(byte), bytes.subarray(i + 1)]);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, i), Buffer.alloc(length, byte), bytes.subarray(i)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + length)]);
    case 'repeat':
      return Buffer.concat([bytes.subarray(0, i + length), bytes.subarray(i)]);
  }
}

/** A served request with a few bytes changed, inserted, deleted or repeated; or random bytes. */
export const rawBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.constantFrom(...RAW_REQUESTS), fc.array(mutation, { minLength: 1, maxLength: 4 }))
      .map(([base, mutations]) => mutations.reduce(mutate, base)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }) },
);
