import { describe, expect, it } from 'vitest';
import { trpcCallOf } from './request-context.js';

describe('trpcCallOf', () => {
  it('reads the calls of a URL under /trpc exactly as the adapter does', () => {
    expect(trpcCallOf('/trpc/inbox?input=%7B%7D')).toMatchObject({
      paths: ['inbox'],
      batch: false,
    });
    expect(trpcCallOf('/trpc/x/%69nbox')).toMatchObject({ paths: ['inbox'] });
    expect(trpcCallOf('/trpc/send,poll?batch=1')).toMatchObject({
      paths: ['send', 'poll'],
      batch: true,
    });
    expect(trpcCallOf('/TRPC/inbox')).toBeNull();
    expect(trpcCallOf('/trpc/%E0')).toBeNull();
  });

  it('leaves a URL with a fragment to Express, whose parser drops it (review of 7f28475)', () => {
    expect(trpcCallOf('/trpc/x#/inbox')).toBeNull();
    expect(trpcCallOf('/trpc/inbox#x')).toBeNull();
    expect(trpcCallOf('/trpc/send?batch=1#x')).toBeNull();
  });
});
