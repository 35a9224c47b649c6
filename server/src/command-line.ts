// deaddrop-relay's arguments, read before anything else happens: the relay is configured only
// through its environment, so an argument is either --help, --version, or a mistake that must stop
// the process before it opens a store or binds a port.
import type { z } from 'zod';
import { relayEnvSchema } from './env.js';

export type RelayCommandLine =
  { readonly kind: 'serve' } | { readonly kind: 'help' } | { readonly kind: 'version' };

/** A mistake in how the relay was started (exit code 2). */
export class RelayUsageError extends Error {
  override readonly name = 'RelayUsageError';
}

const FLAGS = ['--help', '--version'];

export function readRelayCommandLine(argv: readonly string[]): RelayCommandLine {
  let help = false;
  let version = false;
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--version' || arg === '-v') version = true;
    else {
      const name = arg.split('=', 1)[0] ?? arg;
      throw new RelayUsageError(
        FLAGS.includes(name)
          ? `${name} takes no value; see deaddrop-relay --help`
          : `${arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument "${arg}"`} (it takes --help, --version; the rest is set in the environment); see deaddrop-relay --help`,
      );
    }
  }
  if (help) return { kind: 'help' };
  if (version) return { kind: 'version' };
  return { kind: 'serve' };
}

/** Where --help wraps a variable's description (the names and defaults stay on their own line). */
const WRAP_AT = 96;
const DESCRIPTION_INDENT = '      ';

export function relayUsage(): string[] {
  return [
    'usage: deaddrop-relay',
    '',
    'The DeadDrop relay: mailboxes of end-to-end encrypted messages for agents, served over HTTP',
    'on HOST:PORT. With neither REDIS_URL nor REDIS_CLUSTER_NODES set it keeps its data in an',
    'embedded store in DEADDROP_DATA_DIR. SIGTERM or SIGINT stops it gracefully.',
    '',
    'options (everything else is set in the environment):',
    '  -h, --help     show this help',
    '  -v, --version  print the version',
    '',
    'environment [default]:',
    ...Object.entries(relayEnvSchema.shape).flatMap(([name, schema]: [string, z.ZodType]) => [
      `  ${name} [${defaultText(schema.parse(undefined))}]`,
      ...wrap(plainText(schema.description ?? ''), WRAP_AT - DESCRIPTION_INDENT.length).map(
        (line) => `${DESCRIPTION_INDENT}${line}`,
      ),
    ]),
  ];
}

/** What the schema makes of the variable unset, as --help shows it. */
function defaultText(value: unknown): string {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'unset';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new Error(`no way to show the default ${JSON.stringify(value)}`);
}

/** The descriptions are written for docs/configuration.md: their code spans lose the backticks. */
function plainText(markdown: string): string {
  return markdown.replaceAll('`', '');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((part) => part !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}
