// Counts by label (send errors by tRPC code, connections lost by cause), printed largest first.

export function createTally() {
  const counts = new Map();
  return {
    add(label, n = 1) {
      counts.set(label, (counts.get(label) ?? 0) + n);
    },
    total() {
      let sum = 0;
      for (const count of counts.values()) sum += count;
      return sum;
    },
    /** `label xN, label xM` largest first, or `none`. */
    describe() {
      if (counts.size === 0) return 'none';
      return [...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([label, count]) => `${label} x${count}`)
        .join(', ');
    },
  };
}
