// The live inbox behind `resources/subscribe`: while at least one MCP client is subscribed to
// deaddrop://inbox, one live subscription (SSE) moves arriving messages into the agent's queue and
// tells every subscribed client that the resource changed. One feed per process, however many
// sessions subscribe.
import type { InboxSubscription } from '@deaddrop/client';
import type { AgentContext } from './agent-context.js';
import { mcpMessageOf } from './cli-hints.js';
import type { Logger } from './log.js';

const RESTART_DELAY_MS = 5_000;

export type InboxListener = () => void;

export class InboxFeed {
  readonly #listeners = new Set<InboxListener>();
  #subscription: InboxSubscription | undefined;
  #stopping: AbortController | undefined;
  #restart: NodeJS.Timeout | undefined;

  constructor(
    private readonly agent: AgentContext,
    private readonly log: Logger,
  ) {}

  get listeners(): number {
    return this.#listeners.size;
  }

  /** Calls `listener` after each arrival until the returned function is called. */
  listen(listener: InboxListener): () => void {
    const entry: InboxListener = () => {
      listener();
    };
    this.#listeners.add(entry);
    if (this.#subscription === undefined) this.#start();
    return () => {
      this.#listeners.delete(entry);
      if (this.#listeners.size === 0) this.close();
    };
  }

  close(): void {
    clearTimeout(this.#restart);
    this.#restart = undefined;
    this.#stopping?.abort();
    this.#stopping = undefined;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  #start(): void {
    const stopping = new AbortController();
    this.#stopping = stopping;
    const { queue } = this.agent;
    const subscription = this.agent.client.subscribe({
      onMessage: async (entry) => {
        // Backpressure: the feed waits (and the relay keeps the messages) while the queue is full.
        await queue.room(stopping.signal);
        if (stopping.signal.aborted) throw new Error('inbox feed stopped');
        queue.add([entry]);
        for (const listener of this.#listeners) listener();
      },
      onError: (error) => {
        if (stopping.signal.aborted) return;
        this.log.warn('inbox feed stopped; restarting', { error: mcpMessageOf(error) });
        this.#subscription = undefined;
        this.#restart = setTimeout(() => {
          this.#restart = undefined;
          if (this.#listeners.size > 0 && this.#subscription === undefined) this.#start();
        }, RESTART_DELAY_MS);
        this.#restart.unref();
      },
    });
    this.#subscription = subscription;
  }
}
