// Pins the public surface of @deaddrop/client: a change here is an API change.
import { expectTypeOf } from 'vitest';
import type { AgentKeys, JsonValue, MailboxStats, PollResult } from '@deaddrop/contract';
import {
  DeadDropClient,
  DeadDropError,
  createIdentity,
  createRelayTransport,
  isUnreadable,
  listIdentities,
  loadIdentity,
  type DeadDropClientOptions,
  type DeadDropErrorReason,
  type DirectoryEntry,
  type Identity,
  type IdentitySummary,
  type InboxEntry,
  type InboxSubscription,
  type LiveConnectionEvent,
  type MessageLimits,
  type MessageProblem,
  type Pin,
  type ReceiptEvent,
  type ReceivedMessage,
  type RegisteredAgent,
  type RelayClient,
  type RelayInfo,
  type SendMessageInput,
  type SentMessage,
  type UnreadableMessage,
  type UnreadableReason,
  type GroupSendInput,
  type GroupSent,
} from './index.js';

// Keystore
expectTypeOf(createIdentity).parameters.toEqualTypeOf<
  [
    agentId: string,
    options: {
      readonly home?: string | undefined;
      readonly relayUrl: string;
      readonly seed?: Uint8Array;
      readonly now?: number;
    },
  ]
>();
expectTypeOf(createIdentity).returns.toEqualTypeOf<Promise<Identity>>();
expectTypeOf(loadIdentity).returns.toEqualTypeOf<Promise<Identity>>();
expectTypeOf(listIdentities).returns.toEqualTypeOf<Promise<IdentitySummary[]>>();
expectTypeOf<Identity['keys']>().toEqualTypeOf<AgentKeys>();
expectTypeOf<Identity>().not.toHaveProperty('seed');
expectTypeOf<IdentitySummary>().not.toHaveProperty('keys');
expectTypeOf<Pin>().toEqualTypeOf<{
  key: string;
  source: 'explicit' | 'directory';
  pinnedAt: number;
}>();

// Client
expectTypeOf(DeadDropClient).constructorParameters.toEqualTypeOf<[DeadDropClientOptions]>();
expectTypeOf<(typeof DeadDropClient)['open']>().returns.toEqualTypeOf<Promise<DeadDropClient>>();
expectTypeOf<DeadDropClient['register']>().returns.toEqualTypeOf<Promise<RegisteredAgent>>();
expectTypeOf<DeadDropClient['lookup']>().toEqualTypeOf<
  (agentId: string) => Promise<DirectoryEntry>
>();
declare const client: DeadDropClient;
// One recipient: a SentMessage; a list: a group send with a result per recipient.
expectTypeOf(client.sendMessage({ to: 'bob', message: 'hi' })).toEqualTypeOf<
  Promise<SentMessage>
>();
expectTypeOf(client.sendMessage({ to: ['bob', 'carol'], message: 'hi' })).toEqualTypeOf<
  Promise<GroupSent>
>();
expectTypeOf<DeadDropClient['sendToGroup']>().parameter(0).toEqualTypeOf<GroupSendInput>();
expectTypeOf<DeadDropClient['replyAll']>().returns.toEqualTypeOf<Promise<GroupSent>>();
// Exactly one body: JSON or text, or bytes with a content type; never both, never neither.
expectTypeOf<{ to: 'bob'; message: 'hi' }>().toExtend<SendMessageInput>();
expectTypeOf<{
  to: 'bob';
  bytes: Uint8Array;
  contentType: 'image/png';
}>().toExtend<SendMessageInput>();
expectTypeOf<{
  to: 'bob';
  bytes: Uint8Array;
  contentType: 'image/png';
  filename: 'a.png';
  receipt: true;
  replyTo: string;
  threadId: string;
}>().toExtend<SendMessageInput>();
expectTypeOf<{
  to: 'bob';
  message: 'hi';
  bytes: Uint8Array;
  contentType: 'a/b';
}>().not.toExtend<SendMessageInput>();
expectTypeOf<{ to: 'bob' }>().not.toExtend<SendMessageInput>();
expectTypeOf<{ to: 'bob'; bytes: Uint8Array }>().not.toExtend<SendMessageInput>();
expectTypeOf<{ to: 'bob'; message: 'hi'; filename: 'a.txt' }>().not.toExtend<SendMessageInput>();
expectTypeOf<DeadDropClient['reply']>().returns.toEqualTypeOf<Promise<SentMessage>>();
expectTypeOf<DeadDropClient['limits']>().returns.toEqualTypeOf<Promise<MessageLimits>>();
expectTypeOf<DeadDropClient['receipts']>().returns.toEqualTypeOf<
  AsyncGenerator<ReceiptEvent, void, undefined>
>();
expectTypeOf<ReceiptEvent['of']>().toEqualTypeOf<readonly string[]>();
expectTypeOf<ReceivedMessage['data']>().toEqualTypeOf<Uint8Array | undefined>();
expectTypeOf<ReceivedMessage['receiptRequested']>().toEqualTypeOf<boolean>();
expectTypeOf<SentMessage['pinSource']>().toEqualTypeOf<'explicit' | 'directory'>();
expectTypeOf<DeadDropClient['poll']>().returns.toEqualTypeOf<Promise<PollResult>>();
expectTypeOf<DeadDropClient['pollAndDecrypt']>().toEqualTypeOf<
  (options?: {
    readonly timeoutMs?: number | undefined;
    readonly limit?: number | undefined;
  }) => Promise<InboxEntry[]>
>();
expectTypeOf<DeadDropClient['inbox']>().toEqualTypeOf<
  (options?: {
    readonly transport?: 'sse' | 'ws' | undefined;
    readonly authIn?: 'header' | 'connectionParams' | undefined;
    readonly after?: string | undefined;
    readonly signal?: AbortSignal | undefined;
    readonly onConnection?: ((event: LiveConnectionEvent) => void) | undefined;
  }) => AsyncGenerator<InboxEntry, void, undefined>
>();
expectTypeOf<DeadDropClient['subscribe']>().returns.toEqualTypeOf<InboxSubscription>();
expectTypeOf<DeadDropClient['subscribe']>()
  .parameter(0)
  .toHaveProperty('onMessage')
  .toEqualTypeOf<(entry: InboxEntry) => void | Promise<void>>();
expectTypeOf<InboxSubscription>().toEqualTypeOf<{
  unsubscribe(): void;
  readonly closed: Promise<void>;
}>();
expectTypeOf<LiveConnectionEvent>().toEqualTypeOf<
  | { readonly state: 'connected' }
  | { readonly state: 'reconnecting'; readonly error: DeadDropError }
>();
expectTypeOf<DeadDropClient['stats']>().returns.toEqualTypeOf<Promise<MailboxStats>>();
expectTypeOf<DeadDropClient['deleteMessages']>().toEqualTypeOf<
  (ids: readonly string[]) => Promise<{ deleted: number }>
>();
expectTypeOf<DeadDropClient['info']>().returns.toEqualTypeOf<Promise<RelayInfo>>();
expectTypeOf<RelayInfo['limits']['maxMessageBytes']>().toEqualTypeOf<number>();
expectTypeOf<DeadDropClient['relay']>().toEqualTypeOf<RelayClient>();
expectTypeOf(createRelayTransport).returns.toEqualTypeOf<RelayClient>();

// Inbox entries: a message with a verdict, or a typed error; `reason` only when not verified.
expectTypeOf<InboxEntry>().toEqualTypeOf<ReceivedMessage | UnreadableMessage>();
expectTypeOf<UnreadableMessage>().toEqualTypeOf<{
  readonly id: string;
  readonly receivedAt: number;
  readonly error: UnreadableReason;
  readonly prekeyId?: string;
}>();
expectTypeOf<UnreadableReason>().toEqualTypeOf<
  | 'bad-encoding'
  | 'bad-version'
  | 'too-short'
  | 'decrypt-failed'
  | 'bad-padding'
  | 'bad-inner'
  | 'bad-sender-key'
  | 'bad-signature'
  | 'wrong-recipient'
  | 'replayed'
  | 'prekey-unknown'
>();
expectTypeOf<MessageProblem>().toEqualTypeOf<
  'key-mismatch' | 'unknown-sender' | 'unpinned' | 'lookup-failed' | 'stale'
>();
expectTypeOf<ReceivedMessage>().toExtend<{
  readonly id: string;
  readonly from: string;
  readonly fromKey: string;
  readonly verified: boolean;
  readonly sentAt: number;
  readonly body: JsonValue;
  readonly receivedAt: number;
}>();
declare const entry: InboxEntry;
if (isUnreadable(entry)) {
  expectTypeOf(entry).toEqualTypeOf<UnreadableMessage>();
} else if (entry.verified) {
  expectTypeOf(entry.reason).toEqualTypeOf<undefined>();
} else {
  expectTypeOf(entry.reason).toEqualTypeOf<MessageProblem>();
}

// Errors
expectTypeOf<DeadDropError['reason']>().toEqualTypeOf<DeadDropErrorReason>();
expectTypeOf<'KEY_CHANGED'>().toExtend<DeadDropErrorReason>();
expectTypeOf<'NOT_PINNED'>().toExtend<DeadDropErrorReason>();
expectTypeOf<'MESSAGE_TOO_LARGE'>().toExtend<DeadDropErrorReason>();
expectTypeOf<'MAILBOX_FULL'>().toExtend<DeadDropErrorReason>();
expectTypeOf<'NOT_A_REASON'>().not.toExtend<DeadDropErrorReason>();
expectTypeOf(new DeadDropError('KEY_CHANGED', 'x')).toExtend<Error>();
