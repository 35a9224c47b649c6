// `npm run docs:generate`: rewrites the generated regions of README.md and docs/*.md (procedure
// table, contract types, error catalogue, relay environment), then checks every relative link.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brokenLinks } from './links.js';
import { docFiles, renderDocs, repoRoot } from './render-docs.js';

for (const doc of await renderDocs()) {
  if (doc.generated === doc.current) continue;
  await writeFile(join(repoRoot, doc.path), doc.generated);
  console.log(`updated ${doc.path}`);
}

const broken = brokenLinks(repoRoot, await docFiles());
for (const link of broken)
  console.error(`${link.file}:${link.line}: broken link ${link.target}: ${link.problem}`);
if (broken.length > 0) process.exitCode = 1;
