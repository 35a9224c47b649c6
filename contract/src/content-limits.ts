// What fits in one message, in the terms a sender thinks in (PROTOCOL §2, §6): the relay's limit
// counts sealed bytes, which pad, sign and base64-encode the body; this turns it into bytes of
// file data and of text, exactly.
import { utf8 } from './encoding/b64u.js';
import { sealedBytesFor } from './envelope.js';
import { orderInnerFields, type InnerMessageOptions } from './inner-message.js';

/** The content type a file limit assumes when none is named. */
const DEFAULT_FILE_CONTENT_TYPE = 'application/octet-stream';
/** The longest agent id: a limit for an unnamed sender or recipient holds for every one. */
const LONGEST_AGENT_ID = 'x'.repeat(64);
/** An inner id is always 16 bytes, 22 characters of b64u. */
const ANY_UID = 'A'.repeat(22);
/** An agent key is always 91 characters. */
const ANY_AGENT_KEY = 'k'.repeat(91);

/** The largest inner document (bytes) whose envelope is at most `maxMessageBytes`, or -1. */
export function largestInner(maxMessageBytes: number): number {
  // padLen only grows with its argument: the largest fitting length is found by bisection.
  if (sealedBytesFor(0) > maxMessageBytes) return -1;
  let fits = 0;
  let tooBig = maxMessageBytes; // padLen(n) ≥ n: an inner this large never fits.
  while (tooBig - fits > 1) {
    const middle = Math.floor((fits + tooBig) / 2);
    if (sealedBytesFor(middle) <= maxMessageBytes) fits = middle;
    else tooBig = middle;
  }
  return fits;
}

/** Characters of unpadded base64url for `bytes` bytes. */
export function b64uLength(bytes: number): number {
  return Math.floor(bytes / 3) * 4 + (bytes % 3 === 0 ? 0 : (bytes % 3) + 1);
}

export interface BodyLimitFields extends InnerMessageOptions {
  /** The sender's agent id; unnamed, the longest an id may be. */
  readonly from?: string | undefined;
  /** The recipient's agent id; unnamed, the longest an id may be. */
  readonly to?: string | undefined;
  /** When it is sent (its digits count); unnamed, now. */
  readonly sentAt?: number | undefined;
}

export interface BodyLimits {
  /** The most bytes of file data (with `contentType`, default application/octet-stream). */
  readonly fileBytes: number;
  /** The most UTF-8 bytes of text (a string body without `contentType`), if no character needs
   * escaping in JSON (`"`, `\` and control characters count two or six bytes each). */
  readonly textBytes: number;
  /** The most bytes `JSON.stringify(body)` may take as UTF-8, for any JSON body. */
  readonly jsonBytes: number;
}

/**
 * The largest body that fits under the relay's `maxMessageBytes` with these other fields, exactly
 * (one byte more does not fit): in bytes of file data and of text. 0 when nothing fits.
 */
export function largestBody(maxMessageBytes: number, fields: BodyLimitFields = {}): BodyLimits {
  const innerMax = largestInner(maxMessageBytes);
  /** The inner document with an empty-string body ("" is two bytes of JSON). */
  const skeleton = (options: InnerMessageOptions): number =>
    utf8(
      JSON.stringify(
        orderInnerFields({
          ...fields,
          ...options,
          id: ANY_UID,
          kind: 'message',
          from: fields.from ?? LONGEST_AGENT_ID,
          fromKey: ANY_AGENT_KEY,
          to: fields.to ?? LONGEST_AGENT_ID,
          sentAt: fields.sentAt ?? Date.now(),
          body: '',
        }),
      ),
    ).length - 2;
  const jsonBytes = Math.max(
    innerMax - skeleton({ contentType: undefined, filename: undefined }),
    0,
  );
  const fileJson =
    innerMax - skeleton({ contentType: fields.contentType ?? DEFAULT_FILE_CONTENT_TYPE });
  const fileChars = fileJson - 2;
  let fileBytes = Math.max(Math.floor((fileChars * 3) / 4), 0);
  // At most two steps: b64uLength(n) ≤ ⌈4n/3⌉.
  while (fileBytes > 0 && b64uLength(fileBytes) > fileChars) fileBytes--;
  return { fileBytes, textBytes: Math.max(jsonBytes - 2, 0), jsonBytes };
}
