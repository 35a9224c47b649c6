// The prekey secrets file `agents/<agentId>.prekeys.json` (PROTOCOL §1, §10): the secret halves of
// the prekeys an agent published. Pure text in, text out; the SDK owns reading, atomic writing and
// deleting a secret once its message is opened. Read as hostile: another tool may have written it.
import { z } from 'zod';
import { fromB64u, toB64u } from './encoding/b64u.js';
import { KEY_BYTES, boxKeyPairFromSecretKey } from './crypto/primitives.js';
import { PREKEY_ID_BYTES } from './prekey.js';

/** One prekey's secret as the file keeps it. */
export interface PrekeySecretEntry {
  readonly id: string;
  readonly secretKey: Uint8Array;
  /** The public key it was published with (b64u), derived from `secretKey`. */
  readonly key: string;
  readonly createdAt: number;
}

/** A file holds at most what the relay holds plus one top-up; more is not a file we wrote. */
const ENTRIES_MAX = 1_000;

const b64uBytes = (bytes: number) =>
  z
    .string()
    .max(Math.ceil((bytes * 4) / 3))
    .refine((text) => fromB64u(text)?.length === bytes);

const fileSchema = z.object({
  v: z.literal(1),
  prekeys: z
    .array(
      z.object({
        id: b64uBytes(PREKEY_ID_BYTES),
        secretKey: b64uBytes(KEY_BYTES),
        key: b64uBytes(KEY_BYTES),
        createdAt: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
      }),
    )
    .max(ENTRIES_MAX),
});

export type PrekeySecretsParse =
  | { readonly ok: true; readonly prekeys: readonly PrekeySecretEntry[] }
  | { readonly ok: false; readonly reason: string };

/**
 * The entries of a prekeys file, or why it is not one: not JSON, wrong shape, an id that repeats,
 * or a `key` that is not the public half of its `secretKey` (a file that would open nothing).
 */
export function parsePrekeySecretsFile(text: string): PrekeySecretsParse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `bad field ${issue?.path.join('.') ?? ''}`.trimEnd() };
  }
  const ids = new Set<string>();
  const prekeys: PrekeySecretEntry[] = [];
  for (const [index, entry] of parsed.data.prekeys.entries()) {
    if (ids.has(entry.id)) return { ok: false, reason: `prekey id repeats at prekeys.${index}` };
    ids.add(entry.id);
    const secretKey = fromB64u(entry.secretKey) ?? new Uint8Array();
    if (toB64u(boxKeyPairFromSecretKey(secretKey).publicKey) !== entry.key) {
      return { ok: false, reason: `prekeys.${index}.key is not its secret key's public key` };
    }
    prekeys.push({ id: entry.id, secretKey, key: entry.key, createdAt: entry.createdAt });
  }
  return { ok: true, prekeys };
}

/** The file's text: one line of JSON and a newline, entries in the order given. */
export function serializePrekeySecretsFile(prekeys: readonly PrekeySecretEntry[]): string {
  return `${JSON.stringify({
    v: 1,
    prekeys: prekeys.map((entry) => ({
      id: entry.id,
      secretKey: toB64u(entry.secretKey),
      key: entry.key,
      createdAt: entry.createdAt,
    })),
  })}\n`;
}
