// The relay's log lines: one JSON object per line, the level threshold, and the redaction that keeps
// a secret out of the log even when a caller passes one by mistake.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from './log.js';

function capture(options?: LoggerOptions) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = createLogger(stream, options);
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, text: () => chunks.join('') };
}

describe('createLogger', () => {
  it('writes one JSON object per line: time, level, msg and the fields', () => {
    const { log, lines } = capture();
    log.info('relay listening', { url: 'http://127.0.0.1:8000', store: 'embedded' });
    log.error('procedure failed', { path: 'stats', error: 'disk I/O error' });
    const [first, second] = lines();
    expect(first).toMatchObject({
      level: 'info',
      msg: 'relay listening',
      url: 'http://127.0.0.1:8000',
      store: 'embedded',
    });
    expect(new Date(String(first?.time)).toISOString()).toBe(first?.time);
    expect(second).toMatchObject({ level: 'error', path: 'stats', error: 'disk I/O error' });
    expect(Object.keys(first ?? {}).sort()).toEqual(['level', 'msg', 'store', 'time', 'url']);
  });

  it('drops lines below LOG_LEVEL', () => {
    const { log, lines } = capture({ level: 'warn' });
    log.info('ignored');
    log.warn('kept');
    log.error('kept too');
    expect(lines().map((line) => line.msg)).toEqual(['kept', 'kept too']);
    const silent = capture({ level: 'silent' });
    silent.log.error('nothing');
    expect(silent.text()).toBe('');
  });

  it('censors secret-bearing fields at top level and one level down', () => {
    const { log, lines, text } = capture();
    const secrets = {
      ciphertext: 'CIPHERTEXT-1',
      authorization: 'DeadDrop PROOF-1',
      proof: 'PROOF-2',
      agentKey: 'ddk1_AGENTKEY',
      key: 'KEY-1',
      seed: 'SEED-1',
      secret: 'SECRET-1',
      token: 'TOKEN-1',
      apiKey: 'APIKEY-1',
      password: 'PASSWORD-1',
    };
    log.warn('top level', { ...secrets, agentId: 'alice' });
    log.warn('one level down', { input: secrets, headers: { authorization: 'DeadDrop PROOF-3' } });
    for (const value of [...Object.values(secrets), 'PROOF-3']) expect(text()).not.toContain(value);
    const [top, nested] = lines();
    expect(top).toMatchObject({ ciphertext: '[redacted]', seed: '[redacted]', agentId: 'alice' });
    expect(nested).toMatchObject({
      input: { ciphertext: '[redacted]', key: '[redacted]', password: '[redacted]' },
      headers: { authorization: '[redacted]' },
    });
  });
});
