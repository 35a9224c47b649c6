// How many live connections (WebSockets, SSE streams) each client address holds open on this relay
// process, with a cap. Opening one is cheap for a client and holds relay memory for as long as it
// stays, so no one address may hold an unbounded number. Counted per process, not in the store:
// a connection lives on one relay, and its slot must be given back even when the store is down.

export interface AddressConnections {
  /**
   * Takes one of `address`'s slots (the address as `clientAddress` normalises it): the function
   * that gives it back, safe to call more than once, or null when the address is at its cap.
   */
  acquire(address: string): (() => void) | null;
  /** Connections `address` holds open now. */
  count(address: string): number;
  /** The most one address may hold; 0: no cap. */
  readonly cap: number;
}

/** At most `cap` connections per address (0: counted, never refused). */
export function createAddressConnections(cap: number): AddressConnections {
  // Only addresses holding a connection have an entry, so the map stays as small as what is open.
  const open = new Map<string, number>();
  return {
    cap,
    acquire(address) {
      const held = open.get(address) ?? 0;
      if (cap > 0 && held >= cap) return null;
      open.set(address, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(address) ?? 1) - 1;
        if (left > 0) open.set(address, left);
        else open.delete(address);
      };
    },
    count: (address) => open.get(address) ?? 0,
  };
}
