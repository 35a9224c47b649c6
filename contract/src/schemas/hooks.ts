// Inputs and outputs of the wake-up webhook procedures `hooks.set/get/clear` (PROTOCOL §9).
import { z } from 'zod';
import { timestampSchema } from './primitives.js';

/** Longest hook URL the relay stores. */
const HOOK_URL_MAX_LENGTH = 2048;
const HOOK_SECRET_PATTERN = /^[\x20-\x7e]{32,128}$/;

/**
 * Where notices go: an absolute `https:` or `http:` URL without credentials or fragment. Whether
 * an `http:` URL or a private address is allowed is the relay's decision (its allow-list).
 */
const hookUrlSchema = z
  .string()
  .max(HOOK_URL_MAX_LENGTH)
  .superRefine((text, ctx) => {
    const url = URL.canParse(text) ? new URL(text) : null;
    if (url === null) {
      ctx.addIssue({ code: 'custom', message: 'url must be an absolute URL' });
    } else if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: 'url must be https: (or http: on an allowed host)' });
    } else if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'url must not carry credentials' });
    } else if (url.hash !== '') {
      ctx.addIssue({ code: 'custom', message: 'url must not have a fragment' });
    }
  });

/** The key notices are signed with: 32–128 printable ASCII characters. */
export const hookSecretSchema = z
  .string()
  .regex(HOOK_SECRET_PATTERN, 'secret must be 32–128 printable ASCII characters');

export const hookSetInput = z.object({ url: hookUrlSchema, secret: hookSecretSchema });
export type HookSetInput = z.output<typeof hookSetInput>;

export const hookSetOutput = z.object({ url: z.string(), createdAt: timestampSchema });
export type HookSetResult = z.infer<typeof hookSetOutput>;

/** A hook as `hooks.get` reports it: never its secret. */
const hookStatus = z.object({
  url: z.string(),
  createdAt: timestampSchema,
  /** When the last notice attempt ended (delivered or not); null before the first. */
  lastDeliveryAt: timestampSchema.nullable(),
  /** The receiver's HTTP status of that attempt; null before the first or for a network error. */
  lastStatus: z.number().int().min(100).max(599).nullable(),
  /** Failed attempts since the last delivered notice. */
  failures: z.number().int().nonnegative(),
  /** True after too many consecutive failures: no notices until the hook is set again. */
  disabled: z.boolean(),
});
export type HookStatus = z.infer<typeof hookStatus>;

export const hookGetOutput = hookStatus.nullable();

export const hookClearOutput = z.object({ cleared: z.boolean() });
export type HookClearResult = z.infer<typeof hookClearOutput>;
