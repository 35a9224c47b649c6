#!/usr/bin/env node
// Copies non-TypeScript assets (e.g. Lua scripts) from a source tree into the build output, keeping
// their relative paths, because tsc only emits what it compiles.
// Usage: node copy-assets.mjs <srcDir> <outDir> <extension>   e.g. src dist .lua
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const [srcArg, outArg, extension] = process.argv.slice(2);
if (!srcArg || !outArg || !extension?.startsWith('.')) {
  console.error('usage: copy-assets.mjs <srcDir> <outDir> <.ext>');
  process.exit(2);
}
const srcRoot = resolve(srcArg);
const outRoot = resolve(outArg);

let copied = 0;
for (const entry of readdirSync(srcRoot, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(extension)) continue;
  const from = join(entry.parentPath, entry.name);
  const to = join(outRoot, relative(srcRoot, from));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  copied += 1;
}
console.log(
  `copy-assets: ${copied} ${extension} file(s) ${relative(process.cwd(), srcRoot)} -> ${relative(process.cwd(), outRoot)}`,
);
