// The signed document inside an envelope (PROTOCOL §2, with the v1.1 fields of §6 and §7): what a
// receiver accepts, and the one order in which a sender writes its fields.
import { z } from 'zod';
import { isCanonicalB64u } from './encoding/b64u.js';
import { MAX_BODY_DEPTH, isJsonValue, type JsonValue } from './json-value.js';
import {
  agentIdSchema,
  b64uSchema,
  messageUidSchema,
  timestampSchema,
} from './schemas/primitives.js';

/**
 * A MIME type as RFC 9110 §8.3.1 writes one: `type/subtype` of token characters, then optional
 * `; name=value` parameters (value a token or a quoted string). Printable ASCII only, so nothing a
 * terminal or a file system could misread rides in it.
 */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t \\x21-\\x7e])*"';
const CONTENT_TYPE_PATTERN = new RegExp(
  `^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*$`,
);
const MAX_CONTENT_TYPE_CHARS = 127;
const MAX_FILENAME_BYTES = 255;
/** A group's members, the sender included (PROTOCOL §6): so at most 99 recipients. */
export const GROUP_MEMBERS = { min: 2, max: 100 } as const;
export const RECEIPT_IDS_MAX = 100;

export const contentTypeSchema = z
  .string()
  .max(MAX_CONTENT_TYPE_CHARS)
  .regex(
    CONTENT_TYPE_PATTERN,
    `contentType must be a MIME type (type/subtype, optional ; parameters), at most ${MAX_CONTENT_TYPE_CHARS} characters`,
  );

/** A bare file name: a receiver that saves it never follows a path from it (PROTOCOL §6). */
export const filenameSchema = z
  .string()
  .min(1)
  // 255 bytes are at most 255 characters: the cheap bound runs before the exact one.
  .max(MAX_FILENAME_BYTES)
  .refine(
    (name) =>
      Buffer.byteLength(name, 'utf8') <= MAX_FILENAME_BYTES &&
      !/[/\\\0]/.test(name) &&
      name !== '.' &&
      name !== '..',
    `filename must be 1–${MAX_FILENAME_BYTES} UTF-8 bytes without /, \\ or NUL, and not . or ..`,
  );

export const groupSchema = z.object({
  id: b64uSchema(16, 'group id'),
  members: z
    .array(agentIdSchema)
    .min(GROUP_MEMBERS.min)
    .max(GROUP_MEMBERS.max)
    .refine(
      (members) => new Set(members).size === members.length,
      'group members must be distinct',
    ),
});
export type MessageGroup = z.infer<typeof groupSchema>;

/** What a delivery receipt says (PROTOCOL §7): the inner ids it acknowledges. */
export const receiptBodySchema = z.object({
  of: z.array(messageUidSchema).min(1).max(RECEIPT_IDS_MAX),
  status: z.literal('delivered'),
});
export type ReceiptBody = z.infer<typeof receiptBodySchema>;

/** A body a sender may seal: plain JSON nesting at most MAX_BODY_DEPTH deep. */
const messageBodySchema = z.custom<JsonValue>(
  (value) => isJsonValue(value, MAX_BODY_DEPTH),
  `body must be plain JSON nesting at most ${MAX_BODY_DEPTH} levels deep`,
);

/** Fields every kind carries; those a receiver does not know are ignored (PROTOCOL §6). */
const common = {
  v: z.literal(1),
  id: messageUidSchema,
  from: agentIdSchema,
  // An agent key is 91 characters; parseAgentKey judges it after the schema.
  fromKey: z.string().max(91),
  to: agentIdSchema,
  sentAt: timestampSchema,
  contentType: contentTypeSchema.optional(),
  filename: filenameSchema.optional(),
  replyTo: messageUidSchema.optional(),
  threadId: messageUidSchema.optional(),
  group: groupSchema.optional(),
  receipt: z.literal(true).optional(),
};

/**
 * The signed document inside an envelope. Every known field is checked, and nothing in it
 * recurses, whatever a sender wrote; what a field may only mean next to another is checked after.
 */
export const innerMessageSchema = z
  .discriminatedUnion('kind', [
    z.object({ ...common, kind: z.literal('message'), body: messageBodySchema }),
    z.object({ ...common, kind: z.literal('receipt'), body: receiptBodySchema }),
  ])
  .superRefine((inner, context) => {
    if (inner.filename !== undefined && inner.contentType === undefined) {
      context.addIssue({ code: 'custom', message: 'filename needs a contentType' });
    }
    if (
      inner.contentType !== undefined &&
      (typeof inner.body !== 'string' || !isCanonicalB64u(inner.body))
    ) {
      context.addIssue({
        code: 'custom',
        message: 'with a contentType, body must be the canonical base64url of the content',
      });
    }
    if (
      inner.group !== undefined &&
      !(inner.group.members.includes(inner.from) && inner.group.members.includes(inner.to))
    ) {
      context.addIssue({
        code: 'custom',
        message: 'a group must list both the sender and the recipient among its members',
      });
    }
  });
export type InnerMessage = z.infer<typeof innerMessageSchema>;
export type InnerMessageKind = InnerMessage['kind'];

/** The optional v1.1 fields a sender may set (PROTOCOL §6, §7). */
export interface InnerMessageOptions {
  /** A MIME type: `body` is then the b64u of the content's bytes. */
  readonly contentType?: string | undefined;
  /** Only with `contentType`. */
  readonly filename?: string | undefined;
  readonly replyTo?: string | undefined;
  readonly threadId?: string | undefined;
  readonly group?: MessageGroup | undefined;
  /** Ask for a delivery receipt. */
  readonly receipt?: boolean | undefined;
}

export interface InnerMessageFields extends InnerMessageOptions {
  readonly id: string;
  readonly kind: InnerMessageKind;
  readonly from: string;
  readonly fromKey: string;
  readonly to: string;
  readonly sentAt: number;
  readonly body: JsonValue;
}

/**
 * The inner document with its fields in the order every sender writes them (v, id, kind, from,
 * fromKey, to, sentAt, contentType, filename, replyTo, threadId, group, body, receipt): the known
 * answers of vectors/v1.1.json are these bytes. Unset options are left out, not written as null.
 */
export function orderInnerFields(fields: InnerMessageFields): Record<string, unknown> {
  return {
    v: 1,
    id: fields.id,
    kind: fields.kind,
    from: fields.from,
    fromKey: fields.fromKey,
    to: fields.to,
    sentAt: fields.sentAt,
    ...(fields.contentType === undefined ? {} : { contentType: fields.contentType }),
    ...(fields.filename === undefined ? {} : { filename: fields.filename }),
    ...(fields.replyTo === undefined ? {} : { replyTo: fields.replyTo }),
    ...(fields.threadId === undefined ? {} : { threadId: fields.threadId }),
    ...(fields.group === undefined
      ? {}
      : { group: { id: fields.group.id, members: [...fields.group.members] } }),
    body: fields.body,
    ...(fields.receipt === true ? { receipt: true } : {}),
  };
}
