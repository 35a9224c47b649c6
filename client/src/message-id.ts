// Relay message ids ("<ms>-<seq>", PROTOCOL §3) in the relay's order: by `ms`, then by `seq`, both
// numerically. Compared as decimal strings (no leading zeros), so 16-digit parts stay exact.
export function compareMessageIds(a: string, b: string): number {
  const [aMs = '', aSeq = ''] = a.split('-', 2);
  const [bMs = '', bSeq = ''] = b.split('-', 2);
  return compareDecimal(aMs, bMs) || compareDecimal(aSeq, bSeq);
}

function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
