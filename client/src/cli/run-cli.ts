// Dispatches `deaddrop <command> ...` and turns every failure into exactly one line on stderr:
// exit code 2 for a usage mistake, 1 for anything that went wrong while running.
import { isDeadDropError } from '../errors.js';
import { readClientEnv } from '../env.js';
import type { Command, CommandContext } from './command.js';
import { initCommand } from './commands/init.js';
import { keyCommand } from './commands/key.js';
import { listCommand, whoamiCommand } from './commands/list.js';
import { listenCommand } from './commands/listen.js';
import { receiveCommand } from './commands/receive.js';
import { sendCommand } from './commands/send.js';
import { statsCommand } from './commands/stats.js';
import type { CliIo } from './io.js';
import { UsageError, globalOptions, parseCommandLine } from './parse-args.js';
import { printable, printableLine } from './terminal-text.js';

export const commands: readonly Command[] = [
  initCommand,
  keyCommand,
  sendCommand,
  receiveCommand,
  listenCommand,
  statsCommand,
  whoamiCommand,
  listCommand,
];

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export async function runCli(argv: readonly string[], given: CliIo): Promise<number> {
  // Everything written passes through here: senders and relays choose some of the text.
  const io: CliIo = {
    ...given,
    out: (line) => {
      given.out(printable(line));
    },
    err: (line) => {
      given.err(printableLine(line));
    },
  };
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.command === undefined || parsed.command === 'help') {
      if (parsed.values.help === true || parsed.command === 'help') {
        for (const line of usage()) io.out(line);
        return EXIT_OK;
      }
      throw new UsageError('missing command; see deaddrop --help');
    }
    const command = commands.find((candidate) => candidate.name === parsed.command);
    if (command === undefined) {
      throw new UsageError(`unknown command "${parsed.command}"; see deaddrop --help`);
    }
    if (parsed.values.help === true) {
      io.out(`usage: deaddrop ${command.name} ${command.synopsis}`);
      io.out(`  ${command.summary}`);
      return EXIT_OK;
    }
    for (const option of parsed.given) {
      if (!globalOptions.includes(option) && !command.options.includes(option)) {
        throw new UsageError(
          `${command.name} does not take --${option}; see deaddrop ${command.name} --help`,
        );
      }
    }
    if (parsed.positionals.length !== command.args.length) {
      throw new UsageError(
        `${command.name} takes ${command.args.map((name) => `<${name}>`).join(' ') || 'no arguments'}` +
          ` (got ${parsed.positionals.length}); usage: deaddrop ${command.name} ${command.synopsis}`,
      );
    }
    const env = readClientEnv(io.env);
    const context: CommandContext = {
      io,
      env,
      values: parsed.values,
      home: parsed.values.home ?? env.home,
    };
    await command.run(context, parsed.positionals);
    return EXIT_OK;
  } catch (error) {
    io.err(`deaddrop: ${oneLine(describe(error))}`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

function describe(error: unknown): string {
  if (error instanceof UsageError || isDeadDropError(error)) return error.message;
  return `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export function usage(): string[] {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'usage: deaddrop <command> [options]',
    '',
    'commands:',
    ...commands.map(
      (command) =>
        `  ${command.name.padEnd(width)}  ${command.synopsis}\n  ${''.padEnd(width)}    ${command.summary}`,
    ),
    '',
    'global options:',
    '  --server <url>  relay URL (else DEADDROP_SERVER_URL, else the identity file, else http://localhost:8000)',
    '  --home <dir>    identity folder (else DEADDROP_HOME, else ~/.deaddrop)',
    '  -h, --help      show help',
    '',
    'environment: DEADDROP_SERVER_URL, DEADDROP_HOME, DEADDROP_API_KEY (relay access key),',
    '  DEADDROP_REQUEST_TIMEOUT (per relay call, default 30s), DEADDROP_MAX_MESSAGE_AGE (oldest',
    '  message still verified, default 7d; the relay can shorten it, never lengthen it)',
    '--strict refuses first contact without an explicit --key (no trust in the relay directory).',
  ];
}
