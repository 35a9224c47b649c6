// Wake-up notices (PROTOCOL §9): the body the relay POSTs and its `x-deaddrop-signature` header.
// One implementation for both ends: the relay signs with it, the SDK's receiving helper verifies.
import { z } from 'zod';
import { toB64u } from './encoding/b64u.js';
import { constantTimeEqual, hmacSha256Hex, randomBytes } from './crypto/primitives.js';
import {
  agentIdSchema,
  messageIdSchema,
  relayIdSchema,
  timestampSchema,
} from './schemas/primitives.js';

export const WEBHOOK_SIGNATURE_HEADER = 'x-deaddrop-signature';
/** How far a notice's `ts` may be from the receiver's clock by default (5 minutes). */
export const WEBHOOK_TOLERANCE_MS = 5 * 60_000;
/** A body larger than this is no notice (they are about 120 bytes). */
const NOTICE_MAX_BYTES = 1024;

/** The notice body: who has mail, on which relay, up to which id. No sender, content or count. */
const webhookNoticeSchema = z.strictObject({
  agentId: agentIdSchema,
  relayId: relayIdSchema,
  newestId: messageIdSchema,
  ts: timestampSchema,
});
export type WebhookNotice = z.infer<typeof webhookNoticeSchema>;

// Strict: exactly `t=<ms>,v1=<64 lowercase hex>`, nothing before, between or after.
const SIGNATURE_HEADER_PATTERN = /^t=(0|[1-9][0-9]{0,15}),v1=([0-9a-f]{64})$/;

/** The MAC of a notice: hex HMAC-SHA256(secret, ts || "." || body). */
function noticeMac(secret: string, ts: string, body: string): string {
  return hmacSha256Hex(secret, `${ts}.${body}`);
}

/** A fresh hook secret: 32 random bytes, `whsec_` + base64url (49 printable characters). */
export function generateWebhookSecret(): string {
  return `whsec_${toB64u(randomBytes(32))}`;
}

/** The notice's body text, exactly as sent and signed. */
export function encodeWebhookNotice(notice: WebhookNotice): string {
  const { agentId, relayId, newestId, ts } = notice;
  return JSON.stringify({ agentId, relayId, newestId, ts });
}

/** The `x-deaddrop-signature` value for `body` sent at `ts` (ms). */
export function signWebhookNotice(secret: string, ts: number | string, body: string): string {
  const t = String(ts);
  return `t=${t},v1=${noticeMac(secret, t, body)}`;
}

export type WebhookVerification =
  | { readonly ok: true; readonly notice: WebhookNotice }
  | {
      readonly ok: false;
      /**
       * `malformed-header`: no or a badly formed signature header; `bad-signature`: the MAC does
       * not match (wrong secret, altered body); `stale`: `ts` is outside the tolerance;
       * `bad-body`: signed, but not a notice (or its `ts` differs from the header's).
       */
      readonly reason: 'malformed-header' | 'bad-signature' | 'stale' | 'bad-body';
    };

export interface VerifyWebhookOptions {
  /** The hook's secret, as given to `hooks.set`. */
  readonly secret: string;
  /** The request body, exactly as received (not re-serialised JSON). */
  readonly body: string;
  /** The `x-deaddrop-signature` header's value. */
  readonly header: string | null | undefined;
  /** How far `ts` may be from `now`; default 5 minutes. */
  readonly toleranceMs?: number;
  /** The receiver's clock in ms; default `Date.now()`. */
  readonly now?: number;
}

/**
 * Checks a received notice: the header's form, the MAC (constant-time), that `ts` is recent, then
 * the body's form. Never throws; a failure says why in a word that reveals nothing secret.
 */
export function verifyWebhookNotice(options: VerifyWebhookOptions): WebhookVerification {
  const match = SIGNATURE_HEADER_PATTERN.exec(options.header ?? '');
  const t = match?.[1];
  const mac = match?.[2];
  if (t === undefined || mac === undefined) return { ok: false, reason: 'malformed-header' };
  if (!constantTimeEqual(noticeMac(options.secret, t, options.body), mac))
    return { ok: false, reason: 'bad-signature' };
  const ts = Number(t);
  const now = options.now ?? Date.now();
  if (!(Math.abs(now - ts) <= (options.toleranceMs ?? WEBHOOK_TOLERANCE_MS)))
    return { ok: false, reason: 'stale' };
  if (options.body.length > NOTICE_MAX_BYTES) return { ok: false, reason: 'bad-body' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(options.body);
  } catch {
    return { ok: false, reason: 'bad-body' };
  }
  const notice = webhookNoticeSchema.safeParse(parsed);
  if (!notice.success || notice.data.ts !== ts) return { ok: false, reason: 'bad-body' };
  return { ok: true, notice: notice.data };
}
