// Command-line parsing with node's util.parseArgs: one option table for every command, then a
// per-command check of which options and how many arguments it takes.
import { parseArgs } from 'node:util';

export const optionSpec = {
  server: { type: 'string' },
  home: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  key: { type: 'string' },
  wait: { type: 'string' },
  json: { type: 'boolean' },
  keep: { type: 'boolean' },
  strict: { type: 'boolean' },
  ws: { type: 'boolean' },
} as const;

export type OptionName = keyof typeof optionSpec;
export const globalOptions: readonly OptionName[] = ['server', 'home', 'help'];

export interface ParsedArgs {
  readonly command: string | undefined;
  readonly positionals: readonly string[];
  readonly values: {
    readonly server?: string;
    readonly home?: string;
    readonly help?: boolean;
    readonly key?: string;
    readonly wait?: string;
    readonly json?: boolean;
    readonly keep?: boolean;
    readonly strict?: boolean;
    readonly ws?: boolean;
  };
  /** Options given, in order, for per-command validation. */
  readonly given: readonly OptionName[];
}

/** A mistake in how the CLI was called (exit code 2), as opposed to a failure while running. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: optionSpec,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? firstLine(error.message) : String(error));
  }
  const given = parsed.tokens.flatMap((token) => (token.kind === 'option' ? [token.name] : []));
  const [command, ...positionals] = parsed.positionals;
  return { command, positionals, values: parsed.values, given };
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
