// Dispatches `deaddrop <command> ...` and turns every failure into exactly one line on stderr:
// exit code 2 for a usage mistake, 1 for anything that went wrong while running.
import { isDeadDropError } from '../errors.js';
import { readClientEnv } from '../env.js';
import { CommandFailure, type Command, type CommandContext } from './command.js';
import { initCommand } from './commands/init.js';
import { keyCommand } from './commands/key.js';
import { listCommand, whoamiCommand } from './commands/list.js';
import { listenCommand } from './commands/listen.js';
import { receiptsCommand } from './commands/receipts.js';
import { receiveCommand } from './commands/receive.js';
import { registerCommand } from './commands/register.js';
import { replyCommand } from './commands/reply.js';
import { sendCommand } from './commands/send.js';
import { hookCommand } from './commands/hook.js';
import { statsCommand } from './commands/stats.js';
import { proofCommand } from './commands/proof.js';
import type { CliIo } from './io.js';
import { closestName } from './closest-name.js';
import { clientPackageVersion } from './package-version.js';
import { UsageError, readOptions, splitCommandLine } from './parse-args.js';
import { printable, printableLine } from './terminal-text.js';

const commands: readonly Command[] = [
  initCommand,
  registerCommand,
  keyCommand,
  sendCommand,
  replyCommand,
  receiveCommand,
  listenCommand,
  receiptsCommand,
  statsCommand,
  proofCommand,
  hookCommand,
  whoamiCommand,
  listCommand,
];

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

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
    const line = splitCommandLine(
      argv,
      (name) => commands.find((candidate) => candidate.name === name)?.jsonBody === true,
    );
    const asksForHelp = line.command === 'help';
    const command =
      asksForHelp || line.command === undefined ? undefined : findCommand(line.command);
    const values = readOptions(line.options, {
      command: command?.name,
      options: command?.options ?? [],
      jsonBody: command?.jsonBody,
    });
    if (values.version === true) {
      io.out(`deaddrop ${clientPackageVersion()}`);
      return EXIT_OK;
    }
    if (command === undefined) {
      if (values.help !== true && !asksForHelp) {
        throw new UsageError('missing command; see deaddrop --help');
      }
      for (const text of usage()) io.out(text);
      return EXIT_OK;
    }
    if (values.help === true) {
      io.out(`usage: deaddrop ${command.name} ${command.synopsis}`);
      io.out(`  ${command.summary}`);
      for (const text of command.help ?? []) io.out(`  ${text}`);
      return EXIT_OK;
    }
    const optional = command.optionalArgs ?? [];
    const given = line.positionals.length;
    if (given < command.args.length || given > command.args.length + optional.length) {
      const names = [
        ...command.args.map((name) => `<${name}>`),
        ...optional.map((name) => `[<${name}>]`),
      ];
      throw new UsageError(
        `${command.name} takes ${names.join(' ') || 'no arguments'}` +
          ` (got ${line.positionals.length}); usage: deaddrop ${command.name} ${command.synopsis}`,
      );
    }
    const env = readClientEnv(io.env);
    const context: CommandContext = {
      io,
      env,
      values,
      home: values.home ?? env.home,
    };
    await command.run(context, line.positionals);
    return EXIT_OK;
  } catch (error) {
    io.err(`deaddrop: ${oneLine(describe(error))}`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

function findCommand(name: string): Command {
  const command = commands.find((candidate) => candidate.name === name);
  if (command !== undefined) return command;
  const meant = closestName(name, [...commands.map((candidate) => candidate.name), 'help']);
  throw new UsageError(
    `unknown command "${name}"${meant === undefined ? '' : ` (did you mean "${meant}"?)`}; see deaddrop --help`,
  );
}

function describe(error: unknown): string {
  if (error instanceof UsageError || error instanceof CommandFailure || isDeadDropError(error)) {
    return error.message;
  }
  return `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function usage(): string[] {
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
    '  -v, --version   print the version',
    '',
    'environment: DEADDROP_SERVER_URL, DEADDROP_HOME, DEADDROP_API_KEY (relay access key),',
    '  DEADDROP_REQUEST_TIMEOUT (per relay call, default 30s), DEADDROP_MAX_MESSAGE_AGE (oldest',
    '  message still verified, default 7d; the relay can shorten it, never lengthen it)',
    '--strict refuses first contact without an explicit --key (no trust in the relay directory).',
  ];
}
