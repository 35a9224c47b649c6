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
    state.seen.remember('uid-a', now, 60, now);
    await saveMailboxState(home, 'alice', state, now);

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

  it('prunes lapsed seen ids when saving', async () => {
    const state = await loadMailboxState(home, 'alice');
    state.seen.remember('lapsed', now - 3_600_000, 60, now);
    state.seen.remember('kept', now, 60, now);
    await saveMailboxState(home, 'alice', state, now);
    const file = JSON.parse(await readFile(join(home, 'agents', 'alice.state.json'), 'utf8')) as {
      seen: Record<string, number>;
    };
    expect(Object.keys(file.seen)).toEqual(['kept']);
  });

  it('refuses a damaged state file instead of silently forgetting seen ids', async () => {
    const state = await loadMailboxState(home, 'alice');
    await saveMailboxState(home, 'alice', state, now);
    await writeFile(join(home, 'agents', 'alice.state.json'), '{"v":1,"cursors":{"r":"nope"}}');
    await expect(loadMailboxState(home, 'alice')).rejects.toMatchObject({
      reason: 'IDENTITY_CORRUPT',
    });
  });
});
