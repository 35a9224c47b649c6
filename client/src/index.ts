// @deaddrop/client: identities and keystore, the typed relay transport, and the mailbox client.
export { DeadDropClient } from './client.js';
export type { RotatedKey } from './client.js';
export type {
  DeadDropClientOptions,
  DirectoryEntry,
  FileContent,
  GroupSendInput,
  GroupSendResult,
  GroupSent,
  HookSetting,
  InboxOptions,
  InboxSubscription,
  JsonContent,
  MessageLimits,
  OpenClientOptions,
  OwedReceipt,
  PollAndDecryptOptions,
  PollOptions,
  RegisteredAgent,
  RelayInfo,
  ReplyOptions,
  ReplyTarget,
  SendMessageInput,
  SentMessage,
  SubscribeOptions,
} from './client-types.js';
export { DEFAULT_FILE_CONTENT_TYPE, contentTypeForFile } from './content-types.js';
export { DEFAULT_SEND_RETRY_POLICY } from './send-retry.js';
export type { SendRetryNotice, SendRetryPolicy } from './send-retry.js';
export { DeadDropError, clientErrorReasons, isDeadDropError } from './errors.js';
export type { ClientErrorReason, DeadDropErrorOptions, DeadDropErrorReason } from './errors.js';
export { isUnreadable, problemDescriptions } from './inbox-entry.js';
export type {
  InboxEntry,
  MessageProblem,
  ReceivedMessage,
  UnreadableMessage,
  UnreadableReason,
} from './inbox-entry.js';
export { createIdentity, listIdentities, loadIdentity, savePin } from './keystore.js';
export type {
  CreateIdentityOptions,
  Identity,
  IdentitySummary,
  KeystoreOptions,
} from './keystore.js';
export type { LiveConnectionEvent } from './live/follow-inbox.js';
export type { LiveTransport, SseAuthPlacement } from './live/live-connection.js';
export { compareMessageIds } from './message-id.js';
export { saveNewFile } from './save-new-file.js';
export type { ReceiptEvent } from './receipts/receipt-event.js';
export type { DeliveryRecord, ReceivedSummary } from './message-memory.js';
export { resolveHome } from './home.js';
export { clientVariables, readClientEnv } from './env.js';
export { warnAboutExposedFiles } from './exposed-files.js';
export type { ClientEnv, EnvVariable } from './env.js';
export { checkSenderKey, decideRecipientKey, describePinSource } from './pins.js';
export type { Pin, PinSource, Pins, RecipientKeyDecision, SenderProblem } from './pins.js';
export { DEFAULT_RELAY_URL, normalizeRelayUrl, resolveRelayUrl } from './relay-url.js';
export type { RelayUrlSources } from './relay-url.js';
export { createRelayTransport, isMailboxProcedure } from './transport.js';
export type { ProofSigner, RelayClient, RelayTransportOptions } from './transport.js';

// Wake-up webhooks: the receiving function verifies each notice with the relay's own code.
export {
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TOLERANCE_MS,
  generateWebhookSecret,
  verifyWebhookNotice,
} from '@deaddrop/contract';
export type {
  HookStatus,
  VerifyWebhookOptions,
  WebhookNotice,
  WebhookVerification,
} from '@deaddrop/contract';

// The envelope codec and key helpers, for callers that seal or inspect messages themselves.
export {
  deriveAgentKeys,
  fingerprint,
  largestBody,
  openMessage,
  parseAgentKey,
  sealMessage,
} from '@deaddrop/contract';
export type {
  AgentKeys,
  AgentPublicKey,
  AgentRecord,
  AppRouter,
  BodyLimitFields,
  BodyLimits,
  InnerMessage,
  JsonValue,
  MailboxStats,
  MessageGroup,
  ReceiptBody,
  OpenFailure,
  OpenResult,
  PollResult,
  SealInput,
  SealedMessage,
  StoredMessage,
} from '@deaddrop/contract';
