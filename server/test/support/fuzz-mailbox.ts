// Requests to a mailbox for the fuzz suite: every way a proof reaches the relay (a header on a
// query, a mutation, a batch, an SSE subscription; `connectionParams` where a browser puts it), and
// SSE subscription requests with random input, Last-Event-ID and connection params, with what the
// relay must make of each.
import fc from 'fast-check';
import superjson, { type SuperJSONResult } from 'superjson';
import { messageIdSchema, procedures } from '@deaddrop/contract';
import type { FuzzRequest } from './fuzz-http.js';
import { inputText, superjsonText } from './fuzz-encodings.js';
import { inputValue, validMessageId } from './fuzz-inputs.js';
import { proofSpec, type ProofSpec } from './fuzz-proofs.js';

const JSON_TYPE = { 'content-type': 'application/json' };
const STREAM = { accept: 'text/event-stream' };

/** `?input=` for one call's value, or the `input` of a batch. */
const queryInput = (value: unknown): string => `input=${encodeURIComponent(superjsonText(value))}`;
const batchText = (...values: unknown[]): string =>
  JSON.stringify(
    Object.fromEntries(values.map((value, index) => [String(index), superjson.serialize(value)])),
  );

/** Each request names its scope; `header`: the proof travels in the authorization header. */
export const MAILBOX_REQUESTS = {
  poll: { scope: 'poll', header: true },
  stats: { scope: 'stats', header: true },
  delete: { scope: 'delete', header: true },
  'poll,stats': { scope: 'poll,stats', header: true },
  'delete,delete': { scope: 'delete,delete', header: true },
  inbox: { scope: 'inbox', header: true },
  'inbox (connectionParams)': { scope: 'inbox', header: false },
  'poll (connectionParams)': { scope: 'poll', header: false },
} as const;
export type MailboxRequestKind = keyof typeof MAILBOX_REQUESTS;

/** A request that needs nothing but a good proof to succeed. */
export function mailboxRequest(
  kind: MailboxRequestKind,
  authorization: string | undefined,
): FuzzRequest {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  const params = `connectionParams=${encodeURIComponent(JSON.stringify(headers))}`;
  switch (kind) {
    case 'poll':
      return { method: 'GET', target: `/trpc/poll?${queryInput({ limit: 1 })}`, headers };
    case 'stats':
      return { method: 'GET', target: '/trpc/stats', headers };
    case 'delete':
      return {
        method: 'POST',
        target: '/trpc/delete',
        headers: { ...JSON_TYPE, ...headers },
        body: superjsonText({ ids: ['1-1'] }),
      };
    case 'poll,stats':
      return {
        method: 'GET',
        target: `/trpc/poll,stats?batch=1&input=${encodeURIComponent(batchText({ limit: 1 }))}`,
        headers,
      };
    case 'delete,delete':
      return {
        method: 'POST',
        target: '/trpc/delete,delete?batch=1',
        headers: { ...JSON_TYPE, ...headers },
        body: batchText({ ids: ['1-1'] }, { ids: ['2-2'] }),
      };
    case 'inbox':
      return {
        method: 'GET',
        target: `/trpc/inbox?${queryInput({})}`,
        headers: { ...STREAM, ...headers },
        streamUntil: 'event: connected',
      };
    case 'inbox (connectionParams)':
      return {
        method: 'GET',
        target: `/trpc/inbox?${params}`,
        headers: STREAM,
        streamUntil: 'event: connected',
      };
    case 'poll (connectionParams)':
      return { method: 'GET', target: `/trpc/poll?${queryInput({ limit: 1 })}&${params}` };
  }
}

export const mailboxCase = fc.record({
  kind: fc.constantFrom(...(Object.keys(MAILBOX_REQUESTS) as MailboxRequestKind[])),
  proof: proofSpec({ valid: 2 }),
  /** Use a good proof once, then again. */
  replay: fc.boolean(),
});

export interface InboxSpec {
  /** The `input` query parameter. */
  readonly input: string | undefined;
  readonly lastEventIdHeader: string | undefined;
  readonly lastEventIdQuery: string | undefined;
  /** The proof in `connectionParams` instead of the header. */
  readonly viaParams: boolean;
  /** Otherwise `connectionParams` may hold junk (never a string `authorization`). */
  readonly junkParams: string | undefined;
  readonly proof: ProofSpec;
}

const lastEventId = fc.option(fc.oneof(validMessageId, fc.string({ maxLength: 40 })), {
  nil: undefined,
});

export function inboxSpec(maxMessageBytes: number): fc.Arbitrary<InboxSpec> {
  return fc.record({
    input: inputText(inputValue('inbox', maxMessageBytes)),
    lastEventIdHeader: lastEventId,
    lastEventIdQuery: fc.option(fc.oneof(validMessageId, fc.stringMatching(/^[a-z0-9-]{0,20}$/)), {
      nil: undefined,
    }),
    viaParams: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, fc.constant(true)),
    junkParams: fc.option(
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom(
          '[',
          '{}',
          'null',
          '{"authorization":1}',
          '{"apiKey":"x"}',
          '"x"',
          '{"a":"b"}',
        ),
      ),
      { nil: undefined },
    ),
    proof: proofSpec({ valid: 4 }),
  });
}

export function inboxRequest(spec: InboxSpec, authorization: string | undefined): FuzzRequest {
  const query = new URLSearchParams();
  if (spec.input !== undefined) query.set('input', spec.input);
  if (spec.lastEventIdQuery !== undefined) query.set('lastEventId', spec.lastEventIdQuery);
  const params = spec.viaParams
    ? JSON.stringify(authorization === undefined ? {} : { authorization })
    : spec.junkParams;
  if (params !== undefined) query.set('connectionParams', params);
  const headers: Record<string, string> = { ...STREAM };
  if (!spec.viaParams && authorization !== undefined) headers.authorization = authorization;
  if (spec.lastEventIdHeader !== undefined) headers['last-event-id'] = spec.lastEventIdHeader;
  return {
    method: 'GET',
    target: `/trpc/inbox?${query.toString()}`,
    headers,
    streamUntil: 'event: connected',
  };
}

/** Whether the relay reads the subscription's input (PROTOCOL §3: Last-Event-ID wins over `after`). */
export function inboxInputAccepted(spec: InboxSpec): boolean {
  let input: unknown = {};
  if (spec.input !== undefined) {
    try {
      input = superjson.deserialize(JSON.parse(spec.input) as SuperJSONResult);
    } catch {
      return false;
    }
  }
  // A header's surrounding spaces are not part of its value.
  const lastEventId = spec.lastEventIdHeader?.trim() ?? spec.lastEventIdQuery;
  if (lastEventId !== undefined && messageIdSchema.safeParse(lastEventId).success) {
    input =
      typeof input === 'object' && input !== null ? { ...input, lastEventId } : { lastEventId };
  }
  return procedures.inbox.input.safeParse(input).success;
}
