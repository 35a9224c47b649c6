// Command-line parsing: node's util.parseArgs splits the arguments into tokens, leniently, so that
// an unknown option, a missing value or an option given to the wrong command is ours to report —
// in one line that says what to write instead. One table says which options exist; each command
// says which of them it takes.
import { parseArgs } from 'node:util';
import { closestName } from './closest-name.js';

const optionSpec = {
  server: { type: 'string' },
  home: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  // `-v` as node, npm, tsc and most tools a DeadDrop user has installed spell it.
  version: { type: 'boolean', short: 'v' },
  key: { type: 'string' },
  wait: { type: 'string' },
  json: { type: 'boolean' },
  keep: { type: 'boolean' },
  strict: { type: 'boolean' },
  ws: { type: 'boolean' },
  secret: { type: 'string' },
  file: { type: 'string' },
  type: { type: 'string' },
  receipt: { type: 'boolean' },
  all: { type: 'boolean' },
  'save-dir': { type: 'string' },
  'no-receipts': { type: 'boolean' },
  'accept-key': { type: 'boolean' },
  'relay-id': { type: 'string' },
} as const;

export type OptionName = keyof typeof optionSpec;
type StringOptionName = {
  [K in OptionName]: (typeof optionSpec)[K]['type'] extends 'string' ? K : never;
}[OptionName];

/** Accepted before or after any command. */
const globalOptions: readonly OptionName[] = ['server', 'home', 'help', 'version'];

/** What each option's value is, for messages (`--wait <seconds>`). */
const valueNames: Readonly<Record<StringOptionName, string>> = {
  server: 'url',
  home: 'dir',
  key: 'agentKey',
  wait: 'seconds',
  secret: 'secret',
  file: 'path',
  type: 'mime',
  'save-dir': 'dir',
  'relay-id': 'id',
};

export type OptionValues = {
  readonly [K in OptionName]?: K extends StringOptionName ? string : boolean;
} & {
  /**
   * `--json <value>` of a command that sends (`OptionScope.jsonBody`): the body, as given. For the
   * other commands `--json` is the output switch, `json` above.
   */
  readonly jsonBody?: string;
};

/** One option as given, before it is checked against the table and the command. */
export interface GivenOption {
  /** The name without dashes; a short option's long name when it has one (`-h` is `help`). */
  readonly name: string;
  /** As typed: `--wait`, `-h`. */
  readonly rawName: string;
  readonly value: string | undefined;
  /** True for `--wait=5`, false for `--wait 5`. */
  readonly inlineValue: boolean | undefined;
}

export interface CommandLine {
  /** The first positional argument. */
  readonly command: string | undefined;
  readonly positionals: readonly string[];
  readonly options: readonly GivenOption[];
}

/** Where options are being read: a command's, or the bare `deaddrop` (no command named). */
export interface OptionScope {
  readonly command: string | undefined;
  /** The command's own options; the global ones are always accepted. */
  readonly options: readonly OptionName[];
  /** `--json` takes a value here: the body to send, not the output format. */
  readonly jsonBody?: boolean | undefined;
}

/** A mistake in how the CLI was called (exit code 2), as opposed to a failure while running. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * `jsonBody` says of a command name whether its `--json` takes a value (the body to send): such a
 * command line is split again with `--json` as a string option, so the value is not read as a
 * positional argument.
 */
export function splitCommandLine(
  argv: readonly string[],
  jsonBody: (command: string) => boolean = () => false,
): CommandLine {
  const line = splitWith(argv, optionSpec);
  if (line.command === undefined || !jsonBody(line.command)) return line;
  return splitWith(argv, { ...optionSpec, json: { type: 'string' } });
}

function splitWith(
  argv: readonly string[],
  spec: Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly short?: string }>>,
): CommandLine {
  // Not strict: strict parseArgs throws its own messages (with an unbalanced quote) for unknown
  // options and calls `--wait -5` "ambiguous"; the tokens let readOptions say something better.
  const { tokens } = parseArgs({
    args: [...argv],
    options: spec,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const positionals: string[] = [];
  const options: GivenOption[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    else if (token.kind === 'option') {
      const { name, rawName, value, inlineValue } = token;
      options.push({ name, rawName, value, inlineValue });
    }
  }
  const [command, ...rest] = positionals;
  return { command, positionals: rest, options };
}

/** The options' values, once each is known, allowed in `scope`, and given a value if it takes one. */
export function readOptions(given: readonly GivenOption[], scope: OptionScope): OptionValues {
  const accepted = [...globalOptions, ...scope.options];
  const values: { -readonly [K in keyof OptionValues]?: OptionValues[K] } = {};
  for (const option of given) {
    const { name } = option;
    if (!isOptionName(name)) throw unknownOption(option, accepted, scope);
    if (name === 'json' && scope.jsonBody === true) {
      values.jsonBody = bodyValue(option);
      continue;
    }
    if (!accepted.includes(name)) {
      throw new UsageError(
        scope.command === undefined
          ? `${option.rawName} goes with a command (deaddrop <command> ${option.rawName}); ${seeHelp(scope)}`
          : `${scope.command} does not take ${option.rawName}; ${seeHelp(scope)}`,
      );
    }
    if (isStringOption(name)) values[name] = optionValue(name, option);
    else if (option.value !== undefined) {
      throw new UsageError(`${option.rawName} takes no value; ${seeHelp(scope)}`);
    } else values[name] = true;
  }
  return values;
}

/**
 * `--json <value>`: a JSON value may start with "-" (`--json -5`), never with "--": that is the
 * next option, taken by parseArgs as the value.
 */
function bodyValue(option: GivenOption): string {
  const { value } = option;
  if (value === undefined || (option.inlineValue === false && value.startsWith('--'))) {
    throw new UsageError(`${option.rawName} needs a value: ${option.rawName} <value> (JSON)`);
  }
  return value;
}

function optionValue(name: StringOptionName, option: GivenOption): string {
  const usage = `${option.rawName} <${valueNames[name]}>`;
  const { value } = option;
  if (value === undefined) throw new UsageError(`${option.rawName} needs a value: ${usage}`);
  // parseArgs takes whatever follows as the value: `--key --strict` would make "--strict" a key.
  // A negative number is let through, for the command to refuse with its own range.
  if (option.inlineValue === false && /^-[^\d.]/.test(value)) {
    throw new UsageError(
      `${option.rawName} needs a value: ${usage} (got the option ${value}; a value that starts with "-" is written ${option.rawName}=<${valueNames[name]}>)`,
    );
  }
  return value;
}

function unknownOption(
  option: GivenOption,
  accepted: readonly OptionName[],
  scope: OptionScope,
): UsageError {
  const { rawName } = option;
  const long = rawName.startsWith('--');
  const spellings = accepted.flatMap((name): string[] => {
    if (long) return [name];
    const spec = optionSpec[name];
    return 'short' in spec ? [spec.short] : [];
  });
  const meant = closestName(rawName.replace(/^--?/, ''), spellings);
  const suggestion = meant === undefined ? '' : ` (did you mean ${long ? '--' : '-'}${meant}?)`;
  // `send a b -5` reads "-5" as options: the way out is `--` before it.
  const positional = /^-\d/.test(rawName)
    ? ' (an argument that starts with "-" goes after "--")'
    : '';
  return new UsageError(`unknown option ${rawName}${suggestion}${positional}; ${seeHelp(scope)}`);
}

function seeHelp(scope: OptionScope): string {
  return scope.command === undefined
    ? 'see deaddrop --help'
    : `see deaddrop ${scope.command} --help`;
}

function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(optionSpec, name);
}

function isStringOption(name: OptionName): name is StringOptionName {
  return optionSpec[name].type === 'string';
}
