// Envelopes a hostile sender can make: validly sealed to the recipient and signed, around any inner
// document (deep nesting, wrong types, bytes that are not JSON), or an honest one with a chosen
// `sentAt`. For tests that drop them into a mailbox past the SDK's own checks.
import {
  parseAgentKey,
  randomBytes,
  sealInnerBytes,
  sealMessage,
  toB64u,
  utf8,
  type AgentKeys,
  type JsonValue,
} from '@deaddrop/contract';

export interface Party {
  readonly agentId: string;
  readonly agentKey: string;
  readonly keys: AgentKeys;
}

export interface Recipient {
  readonly agentId: string;
  readonly agentKey: string;
}

function boxKeyOf(recipient: Recipient) {
  const key = parseAgentKey(recipient.agentKey);
  if (key === null) throw new Error(`${recipient.agentId} has no usable key`);
  return key;
}

/** An honest message from `sender`, optionally dated `sentAt`. */
export function sealedMessage(
  sender: Party,
  recipient: Recipient,
  body: JsonValue,
  sentAt?: number,
): { ciphertext: string; uid: string } {
  const sealed = sealMessage(
    {
      from: sender.agentId,
      sender: sender.keys,
      to: recipient.agentId,
      recipient: boxKeyOf(recipient),
      body,
    },
    sentAt === undefined ? {} : { sentAt },
  );
  return { ciphertext: sealed.ciphertext, uid: sealed.id };
}

/** The inner document text of an honest message with `bodyText` spliced in as the body's JSON. */
export function innerWithBody(sender: Party, recipient: Recipient, bodyText: string): string {
  const head = JSON.stringify({
    v: 1,
    id: toB64u(randomBytes(16)),
    kind: 'message',
    from: sender.agentId,
    fromKey: sender.agentKey,
    to: recipient.agentId,
    sentAt: Date.now(),
  });
  return `${head.slice(0, -1)},"body":${bodyText}}`;
}

/** A validly sealed and signed envelope from `sender` around exactly `inner`. */
export function sealedInner(
  sender: Party,
  recipient: Recipient,
  inner: string | Uint8Array,
): string {
  const bytes = typeof inner === 'string' ? utf8(inner) : inner;
  return sealInnerBytes(bytes, { sender: sender.keys, recipient: boxKeyOf(recipient) }).ciphertext;
}

/** `depth` nested arrays as JSON text (built as text: such a value cannot be stringified). */
export function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}
