// `npm run docs:generate`: rewrites the generated regions of README.md and docs/*.md (procedure
// table, contract types, error catalogue, relay environment, plain API endpoints) and turbo.json's
// list of variables `npm run dev` passes on, then checks every relative link.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withDevPassThroughEnv } from './dev-env.js';
import { brokenLinks } from './links.js';
import { docFiles, renderDocs, repoRoot } from './render-docs.js';

for (const doc of await renderDocs()) {
  if (doc.generated === doc.current) continue;
  await writeFile(join(repoRoot, doc.path), doc.generated);
  console.log(`updated ${doc.path}`);
}

const turboPath = join(repoRoot, 'turbo.json');
const turbo = await readFile(turboPath, 'utf8');
const generatedTurbo = await withDevPassThroughEnv(turbo);
if (generatedTurbo !== turbo) {
  await writeFile(turboPath, generatedTurbo);
  console.log('updated turbo.json (the dev task’s passThroughEnv)');
}

const broken = brokenLinks(repoRoot, await docFiles());
for (const link of broken)
  console.error(`${link.file}:${link.line}: broken link ${link.target}: ${link.problem}`);
if (broken.length > 0) process.exitCode = 1;
