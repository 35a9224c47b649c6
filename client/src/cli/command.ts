// The shape every CLI command has, and what it is handed to run.
import type { ClientEnv } from '../env.js';
import type { CliIo } from './io.js';
import type { OptionName, OptionValues } from './parse-args.js';

export interface CommandContext {
  readonly io: CliIo;
  readonly env: ClientEnv;
  readonly values: OptionValues;
  /** `--home`, else `DEADDROP_HOME` (the keystore falls back to ~/.deaddrop). */
  readonly home: string | undefined;
}

export interface Command {
  readonly name: string;
  /** Arguments after the command name, for usage lines (`<agent> [--wait <s>]`). */
  readonly synopsis: string;
  readonly summary: string;
  /** Names of the positional arguments; exactly this many must be given (plus `optionalArgs`). */
  readonly args: readonly string[];
  /** Positional arguments that may follow `args` (`hook set <agent> <url>`); the command checks which. */
  readonly optionalArgs?: readonly string[];
  /** Command-specific options (the global ones are always accepted). */
  readonly options: readonly OptionName[];
  /** `--json <value>` is the body to send (else `--json` switches output to JSON lines). */
  readonly jsonBody?: boolean;
  /** More lines for `deaddrop <command> --help` (limits, what a flag reads). */
  readonly help?: readonly string[];
  readonly run: (context: CommandContext, args: readonly string[]) => Promise<void>;
}

/** A failure a command words itself (exit code 1), such as a message id it does not know. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
}
