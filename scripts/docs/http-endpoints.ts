// The endpoint table of docs/http-api.md: every route of the relay's plain HTTP API, as the relay
// derives them from the contract's procedure table (server/src/http/plain-routes.ts), so a
// procedure added to the table shows up here the way the relay serves it.
import { plainRoutes } from '../../server/src/http/plain-routes.js';
import { code, markdownTable } from './markdown.js';
import { inputText } from './procedure-table.js';

export function renderHttpEndpoints(): string {
  return markdownTable(
    ['request', 'proof scope', 'access key', 'input', 'answer'],
    [...plainRoutes()].map(([url, route]) => {
      const { definition } = route;
      const input =
        definition.input === undefined
          ? 'none'
          : `${route.method === 'GET' ? 'query parameters' : 'JSON body'} ${inputText(definition.input)}`;
      return [
        code(`${route.method} ${url}`),
        definition.auth === 'mailbox'
          ? code(route.path)
          : definition.auth === 'signature'
            ? 'none (signed input)'
            : 'none',
        definition.apiKey ? 'if configured' : 'never',
        definition.kind === 'subscription' ? `${input}; header \`Last-Event-ID\`` : input,
        definition.kind === 'subscription' ? 'SSE stream' : 'JSON',
      ];
    }),
  );
}
