// The documentation as it should be: README.md and docs/*.md with every generated region rendered
// afresh from the sources and formatted as prettier formats Markdown.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { renderContractTypes } from './contract-types.js';
import { clientVariables } from '../../client/src/env.js';
import { mcpOwnVariables } from '../../mcp/src/env.js';
import { renderRelayEnvTable, renderVariableTable } from './env-table.js';
import { renderErrorTable } from './error-table.js';
import { renderHttpEndpoints } from './http-endpoints.js';
import { renderProcedureTable } from './procedure-table.js';
import { fillRegions } from './regions.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The Markdown files that may hold generated regions, relative to the repository root. */
export async function docFiles(root: string = repoRoot): Promise<string[]> {
  const docs = (await readdir(join(root, 'docs')))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

export interface RenderedDoc {
  /** Relative to the repository root. */
  readonly path: string;
  readonly current: string;
  readonly generated: string;
}

async function renderRegions(root: string): Promise<Map<string, string>> {
  const options = await prettier.resolveConfig(join(root, 'README.md'));
  const format = async (markdown: string): Promise<string> =>
    (await prettier.format(markdown, { ...options, parser: 'markdown' })).trimEnd();
  return new Map([
    ['procedures', await format(renderProcedureTable())],
    ['contract-types', await format(renderContractTypes())],
    ['errors', await format(renderErrorTable())],
    ['http-endpoints', await format(renderHttpEndpoints())],
    ['relay-env', await format(renderRelayEnvTable())],
    ['client-env', await format(renderVariableTable(clientVariables))],
    ['mcp-env', await format(renderVariableTable(mcpOwnVariables))],
  ]);
}

export async function renderDocs(root: string = repoRoot): Promise<RenderedDoc[]> {
  const regions = await renderRegions(root);
  const rendered: RenderedDoc[] = [];
  for (const path of await docFiles(root)) {
    const current = await readFile(join(root, path), 'utf8');
    rendered.push({ path, current, generated: fillRegions(current, regions, path) });
  }
  return rendered;
}
