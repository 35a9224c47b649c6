// Counts by label (send errors by tRPC code, connections lost by cause), printed largest first.

export interface Tally {
  add(label: string, n?: number): void;
  total(): number;
  /** `label xN, label xM` largest first, or `none`. */
  describe(): string;
}

export function createTally(): Tally {
  const counts = new Map<string, number>();
  return {
    add(label, n = 1) {
      counts.set(label, (counts.get(label) ?? 0) + n);
    },
    total() {
      let sum = 0;
      for (const count of counts.values()) sum += count;
      return sum;
    },
    describe() {
      if (counts.size === 0) return 'none';
      return [...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([label, count]) => `${label} x${count}`)
        .join(', ');
    },
  };
}
