// A MailboxStore that reports every failed operation (unreachable store or anything else) before
// passing it on, so store errors are counted once, whichever handler or transport met them. Every
// method is listed by hand: a method added to MailboxStore fails the type check here until it is.
import { StoreUnavailableError, type MailboxStore } from './mailbox-store.js';

export type StoreFailureKind = 'unavailable' | 'internal';

export function countStoreErrors(
  store: MailboxStore,
  onFailure: (kind: StoreFailureKind) => void,
  /** Called when the store becomes unreachable and when it answers again, once each way. */
  onAvailability: (available: boolean) => void = () => undefined,
): MailboxStore {
  let unreachable = false;
  const counted = <T>(operation: Promise<T>): Promise<T> =>
    operation.then(
      (value) => {
        if (unreachable) {
          unreachable = false;
          onAvailability(true);
        }
        return value;
      },
      (error: unknown) => {
        const kind = error instanceof StoreUnavailableError ? 'unavailable' : 'internal';
        onFailure(kind);
        if (kind === 'unavailable' && !unreachable) {
          unreachable = true;
          onAvailability(false);
        }
        throw error;
      },
    );
  return {
    kind: store.kind,
    ensureRelayId: (candidate) => counted(store.ensureRelayId(candidate)),
    register: (record) => counted(store.register(record)),
    lookup: (agentId) => counted(store.lookup(agentId)),
    rotate: (agentId, step) => counted(store.rotate(agentId, step)),
    append: (input) => counted(store.append(input)),
    read: (agentId, after, limit) => counted(store.read(agentId, after, limit)),
    counts: (agentId) => counted(store.counts(agentId)),
    delete: (agentId, ids) => counted(store.delete(agentId, ids)),
    setHook: (agentId, hook) => counted(store.setHook(agentId, hook)),
    getHook: (agentId) => counted(store.getHook(agentId)),
    clearHook: (agentId) => counted(store.clearHook(agentId)),
    recordHookDelivery: (agentId, delivery) => counted(store.recordHookDelivery(agentId, delivery)),
    publishPrekeys: (agentId, prekeys, max, agentKey) =>
      counted(store.publishPrekeys(agentId, prekeys, max, agentKey)),
    claimPrekey: (agentId) => counted(store.claimPrekey(agentId)),
    prekeyCount: (agentId) => counted(store.prekeyCount(agentId)),
    takeTokens: (scope, name, rate, cost) => counted(store.takeTokens(scope, name, rate, cost)),
    useNonce: (agentId, nonce, keepForMs, agentKey) =>
      counted(store.useNonce(agentId, nonce, keepForMs, agentKey)),
    sweepExpired: () => counted(store.sweepExpired()),
    watch: (agentId, listener) => store.watch(agentId, listener),
    ping: () => counted(store.ping()),
    close: () => store.close(),
  };
}
