// The generated tables in README.md and docs/ (procedures, contract types, error catalogue, the
// relay's environment) must match what the sources produce today, and every relative link and
// anchor in them must resolve. Regenerated in memory by scripts/docs, the generator itself.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { committedDevPassThroughEnv, devPassThroughEnv } from '../../scripts/docs/dev-env.js';
import { brokenLinks, headingSlug } from '../../scripts/docs/links.js';
import { docFiles, renderDocs, repoRoot } from '../../scripts/docs/render-docs.js';

/** TypeScript and Lua sources of the packages and scripts, relative to the repository root. */
async function sourceFiles(): Promise<string[]> {
  const found: string[] = [];
  for (const folder of ['contract', 'server', 'client', 'mcp', 'scripts']) {
    for (const entry of await readdir(join(repoRoot, folder), { recursive: true })) {
      if (/(^|\/)(node_modules|dist)\//.test(entry)) continue;
      if (/\.(ts|mjs|lua)$/.test(entry)) found.push(join(folder, entry));
    }
  }
  return found;
}

describe('the docs', () => {
  it('hold the generated tables as the sources produce them', async () => {
    const docs = await renderDocs();
    expect(docs.map((doc) => doc.path)).toContain('docs/PROTOCOL.md');
    for (const doc of docs) {
      expect(doc.current, `${doc.path} is out of date: run npm run docs:generate`).toBe(
        doc.generated,
      );
    }
  });

  it('pass every variable the relay, the MCP server and the SDK read through npm run dev', async () => {
    const turbo = await readFile(join(repoRoot, 'turbo.json'), 'utf8');
    expect(
      committedDevPassThroughEnv(turbo),
      'turbo.json is out of date: run npm run docs:generate',
    ).toEqual(devPassThroughEnv());
  });

  it('link only to files and headings that exist', async () => {
    expect(brokenLinks(repoRoot, await docFiles())).toEqual([]);
  });

  it('have a docs/PROTOCOL.md section for every "PROTOCOL §n" the code cites', async () => {
    const protocol = await readFile(join(repoRoot, 'docs', 'PROTOCOL.md'), 'utf8');
    const sections = new Set(
      [...protocol.matchAll(/^#{2,4} §(\d+(?:\.\d+)?) /gm)].map((match) => match[1]),
    );
    const cited = new Map<string, string>();
    for (const file of await sourceFiles()) {
      const text = await readFile(join(repoRoot, file), 'utf8');
      for (const match of text.matchAll(/PROTOCOL(?:\.md)? §(\d+(?:\.\d+)?)/g))
        cited.set(match[1] ?? '', file);
    }
    expect(cited.size).toBeGreaterThan(5);
    const missing = [...cited].filter(([section]) => !sections.has(section));
    expect(missing, 'cited sections missing from docs/PROTOCOL.md').toEqual([]);
  });

  it('compute heading anchors as GitHub does', () => {
    expect(headingSlug('§3.4 Mailbox auth')).toBe('34-mailbox-auth');
    expect(headingSlug('MCP server (`deaddrop-mcp`)')).toBe('mcp-server-deaddrop-mcp');
    expect(headingSlug('Files under `$DEADDROP_HOME`')).toBe('files-under-deaddrop_home');
  });
});
