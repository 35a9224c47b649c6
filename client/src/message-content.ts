// What `sendMessage` seals as its body (PROTOCOL §6): JSON or text as it is, or a file's bytes as
// base64url with its content type and name, checked before anything is sealed, and refused with
// the plaintext limit when it cannot fit.
import {
  MAX_BODY_DEPTH,
  b64uDecodedLength,
  contentTypeSchema,
  filenameSchema,
  isJsonValue,
  largestBody,
  messageUidSchema,
  toB64u,
  utf8,
  type InnerMessageOptions,
  type JsonValue,
} from '@deaddrop/contract';
import type { z } from 'zod';
import type { FileContent, JsonContent, SendMessageInput } from './client-types.js';
import { DeadDropError } from './errors.js';

/** The body and v1.1 fields of one message, ready for `sealMessage`. */
export interface PreparedContent extends InnerMessageOptions {
  readonly body: JsonValue;
  /** `receipt` for the receipts the client sends itself; else a message. */
  readonly kind?: 'message' | 'receipt';
}

/** Whether `value` is a file body (`bytes` with a content type) rather than JSON. */
function isFileContent(value: unknown): value is FileContent {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { bytes?: unknown }).bytes instanceof Uint8Array
  );
}

function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new DeadDropError(
    'INVALID_MESSAGE',
    `${what}: ${result.error.issues[0]?.message ?? 'invalid'}`,
  );
}

/** The input's body and fields, checked; throws INVALID_MESSAGE for anything a receiver refuses. */
export function prepareContent(input: SendMessageInput): PreparedContent {
  const fields = {
    ...(input.replyTo === undefined
      ? {}
      : { replyTo: checked(messageUidSchema, input.replyTo, 'replyTo') }),
    ...(input.threadId === undefined
      ? {}
      : { threadId: checked(messageUidSchema, input.threadId, 'threadId') }),
    ...(input.receipt === true ? { receipt: true } : {}),
  };
  // JavaScript callers can give both bodies or neither, whatever the type says.
  const hasBytes = (input as { bytes?: unknown }).bytes !== undefined;
  const hasMessage = (input as { message?: unknown }).message !== undefined;
  if (hasBytes === hasMessage) {
    throw new DeadDropError(
      'INVALID_MESSAGE',
      'give exactly one body: `message` (JSON or text) or `bytes` with a `contentType`',
    );
  }
  if (isFileContent(input)) {
    return {
      ...fields,
      contentType: checked(contentTypeSchema, input.contentType, 'contentType'),
      ...(input.filename === undefined
        ? {}
        : { filename: checked(filenameSchema, input.filename, 'filename') }),
      body: toB64u(input.bytes),
    };
  }
  if (hasBytes) {
    throw new DeadDropError('INVALID_MESSAGE', '`bytes` must be a Uint8Array');
  }
  if (!isJsonValue(input.message, MAX_BODY_DEPTH)) {
    throw new DeadDropError(
      'INVALID_MESSAGE',
      `a message must be plain JSON (strings, finite numbers, booleans, null, arrays, plain objects; no cycles) nesting at most ${MAX_BODY_DEPTH} levels deep`,
    );
  }
  return { ...fields, body: input.message };
}

export interface LimitContext {
  readonly from: string;
  readonly to: string;
  readonly maxMessageBytes: number;
  readonly relayUrl: string;
}

/**
 * Refuses, before sealing, a body the relay's limit cannot hold, saying how much does fit in
 * plaintext terms (file bytes or text bytes), not only the sealed limit.
 */
export function assertContentFits(content: PreparedContent, context: LimitContext): void {
  const limits = largestBody(context.maxMessageBytes, {
    ...content,
    from: context.from,
    to: context.to,
  });
  const sealedLimit = `the relay at ${context.relayUrl} accepts sealed messages of at most ${context.maxMessageBytes} bytes`;
  if (content.contentType !== undefined && typeof content.body === 'string') {
    const fileBytes = b64uDecodedLength(content.body);
    if (fileBytes <= limits.fileBytes) return;
    throw new DeadDropError(
      'MESSAGE_TOO_LARGE',
      `file too large: at most ${limits.fileBytes} bytes of file data fit in one message to "${context.to}" (this one is ${fileBytes}); ${sealedLimit}`,
    );
  }
  const jsonBytes = utf8(JSON.stringify(content.body)).length;
  if (jsonBytes <= limits.jsonBytes) return;
  throw new DeadDropError(
    'MESSAGE_TOO_LARGE',
    typeof content.body === 'string'
      ? `message too large: at most ${limits.textBytes} bytes of text (UTF-8) fit in one message to "${context.to}" (this one takes ${jsonBytes - 2}); ${sealedLimit}`
      : `message too large: at most ${limits.jsonBytes} bytes of JSON (UTF-8) fit in one message to "${context.to}" (this one takes ${jsonBytes}); ${sealedLimit}`,
  );
}

/** A reply's body as `sendMessage` takes it: file content as given, anything else as `message`. */
export function bodyOf(body: JsonValue | FileContent): JsonContent | FileContent {
  return isFileContent(body)
    ? { bytes: body.bytes, contentType: body.contentType, filename: body.filename }
    : { message: body };
}

/** The thread fields of a reply to `target` (PROTOCOL §6). */
export function threadOf(target: {
  readonly uid: string;
  readonly threadId?: string | undefined;
}): {
  replyTo: string;
  threadId: string;
} {
  return { replyTo: target.uid, threadId: target.threadId ?? target.uid };
}
