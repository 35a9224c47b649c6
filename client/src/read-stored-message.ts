// One stored message → one inbox entry: open and authenticate the envelope, drop replays, then
// judge the sender against its pin and the message against the freshness window (PROTOCOL §2).
import {
  fingerprint,
  fromB64u,
  openMessage,
  openMessageV2,
  readPrekeyId,
  type AgentKeys,
  type OpenV2Result,
  type StoredMessage,
} from '@deaddrop/contract';
import { isFresh } from './freshness.js';
import type { InboxEntry, MessageProblem } from './inbox-entry.js';
import type { PrekeySecrets } from './prekey-secrets.js';
import { checkSenderKey, type Pin, type SenderProblem } from './pins.js';
import type { ReplayCache } from './replay-cache.js';

/** The pin a sender is judged by, or why there is none. */
export interface SenderPin {
  readonly pin: Pin | null;
  readonly problem?: SenderProblem;
}

export interface ReadContext {
  readonly agentId: string;
  readonly keys: AgentKeys;
  /** Retired keys still kept (PROTOCOL §10), tried after `keys`: mail sealed before a rotation. */
  readonly otherKeys?: readonly AgentKeys[];
  readonly seen: ReplayCache;
  /** How far back a message may have been sent (see freshness.ts): never the relay's claim alone. */
  readonly windowMs: number;
  readonly now: number;
  /** Never from the message itself: a pin on file, or a directory lookup (trust on first use). */
  readonly senderPin: (from: string) => Promise<SenderPin>;
  /** The secrets of this agent's one-time prekeys, for v2 envelopes (PROTOCOL §10). */
  readonly prekeys: Pick<PrekeySecrets, 'find' | 'wasUsed'>;
  /** A pin moved along verified rotations to a sender's new `fromKey`, or null (rotation.ts). */
  readonly followRotation?: (from: string, fromKey: string) => Promise<Pin | null>;
}

/** Opens with the current key, then each kept retired key; the current key's failure if none does. */
function openWithAnyKey(ciphertext: string, context: ReadContext): ReturnType<typeof openMessage> {
  const opened = openMessage(ciphertext, context.agentId, context.keys);
  if (opened.ok) return opened;
  for (const keys of context.otherKeys ?? []) {
    const retried = openMessage(ciphertext, context.agentId, keys);
    if (retried.ok) return retried;
  }
  return opened;
}

/** The envelope opened with the key it names: the identity's (v1) or a prekey's (v2). */
async function openEnvelope(
  ciphertext: string,
  context: ReadContext,
): Promise<{ readonly opened: OpenV2Result; readonly prekeyId?: string }> {
  const prekeyId = readPrekeyId(ciphertext);
  if (prekeyId === null) return { opened: openWithAnyKey(ciphertext, context) };
  const kept = await context.prekeys.find(prekeyId);
  const secretKey = kept === undefined ? null : fromB64u(kept.secretKey);
  if (secretKey === null) return { opened: { ok: false, reason: 'prekey-unknown' }, prekeyId };

  return {
    opened: openMessageV2(ciphertext, context.agentId, { id: prekeyId, secretKey }),
    prekeyId,
  };
}

export async function readStoredMessage(
  stored: StoredMessage,
  context: ReadContext,
): Promise<InboxEntry> {
  const { id, receivedAt } = stored;
  const { opened, prekeyId } = await openEnvelope(stored.ciphertext, context);
  if (!opened.ok) {
    // A prekey whose message was read already: this is a second copy of it.
    if (opened.reason === 'prekey-unknown' && prekeyId !== undefined) {
      if (await context.prekeys.wasUsed(prekeyId)) return { id, receivedAt, error: 'replayed' };
    }
    return { id, receivedAt, error: opened.reason };
  }
  const inner = opened.message;
  if (context.seen.has(inner.id)) {
    return { id, receivedAt, error: 'replayed', ...(prekeyId === undefined ? {} : { prekeyId }) };
  }
  context.seen.remember(inner.id, inner.sentAt, context.now);

  let sender: SenderPin;
  try {
    sender = await context.senderPin(inner.from);
  } catch (error) {
    // Not judged after all: the message must come again, not as a replay of itself.
    context.seen.forget(inner.id);
    throw error;
  }
  let problem: MessageProblem | undefined = sender.problem;
  if (problem === undefined && checkSenderKey(sender.pin ?? undefined, inner.fromKey) !== 'match') {
    const moved = await context.followRotation?.(inner.from, inner.fromKey);
    if (moved?.key === inner.fromKey) sender = { pin: moved };
    else problem = 'key-mismatch';
  }
  const fresh = isFresh(inner.sentAt, context.now, context.windowMs, context.seen.forgottenThrough);
  if (problem === undefined && !fresh) {
    problem = 'stale';
  }
  const verdict =
    problem === undefined
      ? { verified: true as const }
      : { verified: false as const, reason: problem };
  return {
    id,
    from: inner.from,
    fromKey: inner.fromKey,
    ...verdict,
    sentAt: inner.sentAt,
    body: inner.body,
    receivedAt,
    uid: inner.id,
    kind: inner.kind,
    ...contentOf(inner.contentType, inner.filename, inner.body),
    ...(inner.replyTo === undefined ? {} : { replyTo: inner.replyTo }),
    ...(inner.threadId === undefined ? {} : { threadId: inner.threadId }),
    ...(inner.group === undefined ? {} : { group: inner.group }),
    receiptRequested: inner.receipt === true,
    forwardSecret: prekeyId !== undefined,
    ...(prekeyId === undefined ? {} : { prekeyId }),
    fromFingerprint: fingerprint(opened.senderKey),
    pinSource: sender.pin?.source ?? null,
  };
}

/** A file message's type, name and bytes (the codec has checked its body is canonical b64u). */
function contentOf(
  contentType: string | undefined,
  filename: string | undefined,
  body: unknown,
): { contentType?: string; filename?: string; data?: Uint8Array } {
  if (contentType === undefined || typeof body !== 'string') return {};
  const data = fromB64u(body);
  return {
    contentType,
    ...(filename === undefined ? {} : { filename }),
    ...(data === null ? {} : { data }),
  };
}
