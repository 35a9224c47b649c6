// An export says another file uses it: every exported value in the packages, their tests and
// scripts/ is imported somewhere or is public API (scripts/check/dead-exports.ts says how that is
// decided). A value only its own file uses is declared without `export`; one nobody uses is gone.
import { describe, expect, it } from 'vitest';
import { findDeadExports } from '../../scripts/check/dead-exports.js';
import { repoRoot } from '../../scripts/docs/render-docs.js';

describe('exports', () => {
  it('are all used by another file or part of a package entry point', () => {
    expect(findDeadExports(repoRoot)).toEqual([]);
  });
});
