import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INITIAL_CURSOR, loadMailboxState, saveMailboxState } from './mailbox-state.js';

let home: string;
const now = 1_800_000_000_000;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'deaddrop-state-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('mailbox state', () => {
  it('starts at the beginning with nothing seen', async () => {
    const state = await loadMailboxState(home, 'alice');
    expect(state.cursor('relay-1')).toBe(INITIAL_CURSOR);
    expect(state.seen.size).toBe(0);
  });

  it('persists cursors per relay and seen ids across loads, mode 0600', async () => {
    const state = await loadMailboxState(home, 'alice');
    state.setCursor('relay-1', '17-3');
    state.seen.remember('uid-a', now, now);
    await saveMailboxState(home, 'alice', state, now, 60_000);

    const path = join(home, 'agents', 'alice.state.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = await loadMailboxState(home, 'alice');
    expect(again.cursor('relay-1')).toBe('17-3');
    expect(again.cursor('relay-2')).toBe(INITIAL_CURSOR);
    expect(again.seen.has('uid-a')).toBe(true);
  });

  it('advances a cursor only forward, in relay id order', async () => {
    const state = await loadMailboxState(home, 'alice');
    state.advanceCursor('relay-1', '9-5');
    state.advanceCursor('relay-1', '10-0');
    state.advanceCursor('relay-1', '9-99');
    expect(state.cursor('relay-1')).toBe('10-0');
  });

  it('prunes lapsed seen ids when saving, and remembers how far it forgot', async () => {
    const state = await loadMailboxState(home, 'alice');
    state.seen.remember('lapsed', now - 3_600_000, now);
    state.seen.remember('kept', now, now);
    await saveMailboxState(home, 'alice', state, now, 60_000);
    const file = JSON.parse(await readFile(join(home, 'agents', 'alice.state.json'), 'utf8')) as {
      seen: Record<string, number>;
      forgottenThrough: number;
    };
    expect(Object.keys(file.seen)).toEqual(['kept']);
    expect(file.forgottenThrough).toBe(now - 3_600_000);
    expect((await loadMailboxState(home, 'alice')).seen.forgottenThrough).toBe(now - 3_600_000);
  });

  it('keeps ids and relay ids like constructor and __proto__ as plain keys', async () => {
    const state = await loadMailboxState(home, 'alice');
    state.setCursor('__proto__', '5-1');
    state.setCursor('constructor', '6-1');
    state.seen.remember('__proto__', now, now);
    await saveMailboxState(home, 'alice', state, now, 60_000);
    const again = await loadMailboxState(home, 'alice');
    expect(again.cursor('__proto__')).toBe('5-1');
    expect(again.cursor('constructor')).toBe('6-1');
    expect(again.cursor('toString')).toBe(INITIAL_CURSOR);
    expect(again.seen.has('__proto__')).toBe(true);
    expect(again.seen.has('constructor')).toBe(false);
  });

  it('refuses a damaged state file instead of silently forgetting seen ids', async () => {
    const state = await loadMailboxState(home, 'alice');
    await saveMailboxState(home, 'alice', state, now, 60_000);
    await writeFile(join(home, 'agents', 'alice.state.json'), '{"v":1,"cursors":{"r":"nope"}}');
    await expect(loadMailboxState(home, 'alice')).rejects.toMatchObject({
      reason: 'IDENTITY_CORRUPT',
    });
  });
});
