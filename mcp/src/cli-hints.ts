// The SDK words its messages for the `deaddrop` CLI: their hints name its flags (--server, --key,
// --home), which this server does not have. Whatever it shows of them — tool results, its log —
// goes through here and names the server's own settings instead. Each hint is matched as the SDK
// writes it (cli-hints.test.ts produces the real messages, so a rewording upstream fails a test).
const hints: readonly (readonly [cli: string, mcp: string])[] = [
  ['check --server or DEADDROP_SERVER_URL', 'check DEADDROP_SERVER_URL'],
  ['pass their new agent key explicitly (--key)', 'pass it as recipient_public_key'],
  ['use another --home or agent id', 'use another DEADDROP_HOME or MCP_AGENT_ID'],
  [
    'or pass --accept-key to use it anyway',
    'only a person can override this check (the deaddrop CLI’s --accept-key)',
  ],
];

/** `message` with the CLI's hints replaced by this server's settings. */
export function withMcpHints(message: string): string {
  let text = message;
  for (const [cli, mcp] of hints) text = text.replaceAll(cli, mcp);
  return text;
}

/** An error's message as this server shows it. */
export function mcpMessageOf(error: unknown): string {
  return withMcpHints(error instanceof Error ? error.message : String(error));
}
