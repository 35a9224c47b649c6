// Exports nothing imports: a module's `export` says "other files use this", and an export no other
// file uses is either dead code or a helper that should stay private to its file. The TypeScript
// checker follows every import, re-export and `import()` type in the packages, their tests and
// scripts/ to the declaration it names; what the packages' entry points export is public API and
// counts as used. Values only: an exported type names what an exported function takes or gives,
// and callers may need to say it. `server/test/dead-exports.test.ts` holds the repository to an
// empty list.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** Folders searched for TypeScript sources, relative to the repository root. */
const SOURCE_FOLDERS = [
  'contract/src',
  'contract/test',
  'server/src',
  'server/test',
  'client/src',
  'client/test',
  'mcp/src',
  'mcp/test',
  'scripts',
];

/** Modules whose exports are the packages' public API (their `exports` in package.json). */
const ENTRY_POINTS = [
  'contract/src/index.ts',
  'server/src/index.ts',
  'client/src/index.ts',
  'mcp/src/index.ts',
];

export interface DeadExport {
  /** The file that declares it, relative to the repository root. */
  readonly file: string;
  readonly name: string;
}

function typeScriptFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory())
      return entry.name === 'node_modules' || entry.name === 'dist' ? [] : typeScriptFiles(path);
    return /\.(m?ts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * A test or a script's main is never imported, and a type-test fixture's values exist for their
 * types: what they export is nobody's business.
 */
function declaresOnlyForItself(file: string): boolean {
  if (file.endsWith('.fixture.ts')) return true;
  return (
    /\.test(-d)?\.ts$/.test(file) || /^scripts\/(bench|soak|docs|dev|check)\/.*main\.ts$/.test(file)
  );
}

export function findDeadExports(repoRoot: string): DeadExport[] {
  const files = SOURCE_FOLDERS.flatMap((folder) => typeScriptFiles(join(repoRoot, folder)));
  const tsconfig: { readonly config?: unknown } = ts.readConfigFile(
    join(repoRoot, 'tsconfig.json'),
    (path) => ts.sys.readFile(path),
  );
  const { options } = ts.parseJsonConfigFileContent(tsconfig.config, ts.sys, repoRoot);
  const program = ts.createProgram(files, { ...options, noEmit: true });
  const checker = program.getTypeChecker();

  const original = (symbol: ts.Symbol): ts.Symbol =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const used = new Set<ts.Symbol>();
  const useModule = (specifier: ts.Node): void => {
    const moduleSymbol = checker.getSymbolAtLocation(specifier);
    if (moduleSymbol === undefined) return;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) used.add(original(exported));
  };

  for (const source of program.getSourceFiles()) {
    if (source.isDeclarationFile || source.fileName.includes('/node_modules/')) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isImportSpecifier(node) || ts.isExportSpecifier(node)) {
        const symbol = checker.getSymbolAtLocation(node.name);
        if (symbol !== undefined) used.add(original(symbol));
      } else if (ts.isImportClause(node) && node.name !== undefined) {
        const symbol = checker.getSymbolAtLocation(node.name);
        if (symbol !== undefined) used.add(original(symbol));
      } else if (ts.isNamespaceImport(node)) {
        // `import * as x from`: whatever x is used for, count the whole module.
        useModule(node.parent.parent.moduleSpecifier);
      } else if (ts.isNamespaceExport(node) && node.parent.moduleSpecifier !== undefined) {
        useModule(node.parent.moduleSpecifier);
      } else if (ts.isImportTypeNode(node) && node.qualifier !== undefined) {
        const symbol = checker.getSymbolAtLocation(node.qualifier);
        if (symbol !== undefined) used.add(original(symbol));
      } else if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments[0] !== undefined
      ) {
        useModule(node.arguments[0]);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  // What an entry point names is public API; what it passes on wholesale (`export * from`) is
  // not, or nothing behind such a line could ever be found dead: those count where imported.
  for (const entry of ENTRY_POINTS) {
    const source = program.getSourceFile(join(repoRoot, entry));
    const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (source === undefined || moduleSymbol === undefined)
      throw new Error(`entry point ${entry} not found`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const namedHere = exported.declarations?.some((d) => d.getSourceFile() === source) ?? false;
      if (namedHere) used.add(original(exported));
    }
  }

  const dead: DeadExport[] = [];
  for (const source of program.getSourceFiles()) {
    const file = relative(repoRoot, source.fileName);
    if (source.isDeclarationFile || file.startsWith('..') || file.includes('node_modules/'))
      continue;
    if (declaresOnlyForItself(file) || ENTRY_POINTS.includes(file)) continue;
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) continue;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const declaredHere =
        exported.declarations?.some((d) => d.getSourceFile() === source) ?? false;
      const isValue = (original(exported).flags & ts.SymbolFlags.Value) !== 0;
      if (declaredHere && isValue && !used.has(original(exported)))
        dead.push({ file, name: exported.getName() });
    }
  }
  return dead.sort((a, b) => a.file.localeCompare(b.file) || a.name.localeCompare(b.name));
}
