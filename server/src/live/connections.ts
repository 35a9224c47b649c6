// The physical connection behind a live subscription (an SSE response or a WebSocket), kept beside
// the request context so the inbox stream can measure its backlog and close it with a reason.
import type { RequestContext } from '@deaddrop/contract';

export interface LiveConnection {
  /** Bytes written but not yet sent to the peer. */
  backlogBytes(): number;
  /** Ends the connection; the client reconnects and resumes from its cursor. */
  close(reason: string): void;
  /**
   * The router accepted a mailbox proof on this connection: a WebSocket lifts the bounds it puts
   * on connections that have proven nothing yet (live/websocket-pre-auth.ts).
   */
  authenticated?(): void;
}

const connections = new WeakMap<RequestContext, LiveConnection>();

export function attachConnection(ctx: RequestContext, connection: LiveConnection): void {
  connections.set(ctx, connection);
}

export function connectionOf(ctx: RequestContext): LiveConnection | undefined {
  return connections.get(ctx);
}
