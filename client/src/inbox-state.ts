// The agent's state file as the client's inbox readers share it: reads and writes of the file
// take turns (so concurrent readers cannot interleave them), and one in-memory replay cache is
// what every reader judges against — polls and live inboxes at once — so a message one reader
// took is a replay to all the others at once, not only after the file has been written.
import { isUnreadable, type InboxEntry } from './inbox-entry.js';
import { loadMailboxState, saveMailboxState, type MailboxState } from './mailbox-state.js';
import { ReplayCache } from './replay-cache.js';

export class InboxState {
  /** Filled from the file on each read of it, written to it on each save. */
  readonly seen = new ReplayCache();
  #turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly home: string,
    private readonly agentId: string,
  ) {}

  /** Runs `fn` after every earlier turn has settled. */
  inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const turn = this.#turn.then(fn);
    this.#turn = turn.catch(() => undefined);
    return turn;
  }

  /** The file as it is now, its seen ids taken into the shared cache. Call in a turn. */
  async load(): Promise<MailboxState> {
    const state = await loadMailboxState(this.home, this.agentId);
    this.seen.absorb(state.seen);
    return state;
  }

  /** Writes `state`, then forgets in memory what the file forgot (both by the same window). */
  async save(state: MailboxState, now: number, windowMs: number): Promise<void> {
    await saveMailboxState(this.home, this.agentId, state, now, windowMs);
    this.seen.absorb(state.seen);
    this.seen.prune(now, windowMs);
  }

  /**
   * Forward-secret entries whose consumer threw: recorded as seen and their prekey secrets deleted
   * before the hand-over (PROTOCOL §10), so the relay's copy can never be opened again; this
   * client's next live inbox hands them over first. Gone with the process.
   */
  readonly #heldOver: InboxEntry[] = [];

  holdOver(entry: InboxEntry): void {
    this.#heldOver.push(entry);
  }

  /** The held-over entries, oldest first; the queue is left empty. */
  takeHeldOver(): InboxEntry[] {
    return this.#heldOver.splice(0);
  }

  /** Entries judged but never handed over: their ids are unremembered, so they come again. */
  undeliver(entries: readonly InboxEntry[]): void {
    for (const entry of entries) if (!isUnreadable(entry)) this.seen.forget(entry.uid);
  }
}
