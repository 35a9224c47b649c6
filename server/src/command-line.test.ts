import { describe, expect, it } from 'vitest';
import { RelayUsageError, readRelayCommandLine, relayUsage } from './command-line.js';
import { relayEnvSchema } from './env.js';

describe('deaddrop-relay arguments', () => {
  it('serves with none; --help and --version answer instead, --help first', () => {
    expect(readRelayCommandLine([])).toEqual({ kind: 'serve' });
    expect(readRelayCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(readRelayCommandLine(['-v', '-h'])).toEqual({ kind: 'help' });
    expect(readRelayCommandLine(['--version'])).toEqual({ kind: 'version' });
    expect(readRelayCommandLine(['-v'])).toEqual({ kind: 'version' });
  });

  it.each([
    [['--port', '9000'], 'unknown option --port (it takes --help, --version;'],
    [['9000'], 'unexpected argument "9000"'],
    [['--help=yes'], '--help takes no value'],
  ])('refuses %j', (argv, text) => {
    expect(() => readRelayCommandLine(argv)).toThrow(RelayUsageError);
    expect(() => readRelayCommandLine(argv)).toThrow(text);
  });

  it('lists every variable of the configuration schema with its default, within 96 columns', () => {
    const usage = relayUsage();
    for (const name of Object.keys(relayEnvSchema.shape)) {
      expect(usage.some((line) => line.startsWith(`  ${name} [`))).toBe(true);
    }
    expect(usage).toContain('  PORT [8000]');
    expect(usage).toContain('  DEADDROP_API_KEYS [unset]');
    expect(usage.filter((line) => line.length > 96)).toEqual([]);
  });
});
