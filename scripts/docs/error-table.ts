// The error catalogue of docs/PROTOCOL.md §3.7: every entry of the contract's catalogue, formatted
// by the relay's own error formatter, so the table shows exactly the codes a client receives.
import { relayErrors, type RelayErrorReason } from '@deaddrop/contract';
import { RelayFault, relayErrorShape } from '../../server/src/relay-error.js';
import { code, markdownTable } from './markdown.js';

export function renderErrorTable(): string {
  const reasons = Object.keys(relayErrors) as RelayErrorReason[];
  return markdownTable(
    ['reason', 'tRPC code', 'JSON-RPC code', 'HTTP status', 'message'],
    reasons.map((reason) => {
      const shape = relayErrorShape(new RelayFault(reason), '');
      return [
        code(reason),
        code(shape.data.code),
        String(shape.code),
        String(shape.data.httpStatus),
        shape.message,
      ];
    }),
  );
}
