// Call-graph precision and recall against the TypeScript compiler (issue 10).
//
//   npm run bench -- callgraph
//   node --import tsx bench/callgraph.bench.ts [corpus ...]   # same, with the error examples on stderr
//
// Oracle: the TypeScript compiler's checker, which no one here wrote. Corpora: the shipped `src/`
// trees of published npm packages (tests and benchmarks left out), one git commit each, cached in
// bench/.cache/callgraph/. For every call expression, `new` expression and `super(...)` call the
// checker resolves the callee (getResolvedSignature, else getSymbolAtLocation, aliases followed) to a
// declaration; the call belongs to the innermost named function around it (anonymous callbacks
// belong to the named function they sit in, as in CodeGraph). Both ends are mapped to CodeGraph
// qualified names through the entities the real indexer stored for the same file (the innermost
// entity of that name around the declaration's name); an overload signature stands for its
// implementation (an overload set is one entity). Calls whose target is not an in-tree named
// function, method, constructor or class (built-ins, parameters holding functions) give no oracle
// edge.
//
// CodeGraph side: the tree is indexed with the real Indexer into a PGlite store, and the edges are
// `callees(depth: 1)` of every function, method and constructor at HEAD, read in one pass through
// `HistoryStore.callGraph` (the same resolution; the baseline in the issue-10 note used per-entity
// `callees()` calls, before `callGraph` existed).
//
// Figures, one line per corpus: precision and recall of the distinct (caller, callee) pairs, overall
// and for cross-file pairs; the ten most frequent error classes (false positives and misses,
// classified by the call's receiver form and what the compiler resolved it to) with one example each.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { indexCommit } from '../daemon/history.ts';
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { openDatabase } from '../store/db.ts';
import { HistoryStore, type StoredEntity } from '../store/index.ts';
import { migrate } from '../store/migrate.ts';
import { CACHE_DIR, commitAll, fetchTarballs, initRepo, tarballPath } from './corpus.ts';

export const name = 'callgraph';

interface CorpusSpec { id: string; pkg: string; version: string; what: string }

/** Real, published packages that ship their TypeScript sources. */
const CORPORA: readonly CorpusSpec[] = [
  { id: 'query-core', pkg: '@tanstack/query-core', version: '5.108.0', what: 'state library' },
  { id: 'zod', pkg: 'zod', version: '4.6.7', what: 'schema library' },
  { id: 'rxjs', pkg: 'rxjs', version: '7.8.2', what: 'reactive runtime (class-heavy)' },
];

/** Bump when the corpus layout changes. */
const FORMAT = 1;
const EXCLUDED_DIR = /^(tests?|__tests__|benchmarks?|playground)$/;
const EXCLUDED_FILE = /\.(test|spec|bench|test-d)\.tsx?$/;

const log = (msg: string): void => void process.stderr.write(`[callgraph] ${msg}\n`);

/** The corpus repository: `src/` of the tarball minus tests, one commit. */
async function ensureTree(spec: CorpusSpec): Promise<string> {
  const dir = path.join(CACHE_DIR, 'callgraph', `${spec.id}-${spec.version}`);
  const stamp = path.join(dir, '.codegraph-corpus');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === String(FORMAT)) return dir;
  await fetchTarballs([{ name: spec.pkg, version: spec.version }]);
  await initRepo(dir);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-callgraph-'));
  try {
    const { execFileSync } = await import('node:child_process');
    execFileSync('tar', ['xzf', tarballPath(spec.pkg, spec.version), '-C', tmp, '--no-same-owner', '--no-same-permissions']);
    const stack = [path.join(tmp, 'package', 'src')];
    const root = path.join(tmp, 'package');
    while (stack.length > 0) {
      const d = stack.pop()!;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) {
          if (!EXCLUDED_DIR.test(e.name)) stack.push(full);
        } else if (e.isFile() && /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') && !EXCLUDED_FILE.test(e.name)) {
          const dest = path.join(dir, path.relative(root, full));
          fs.mkdirSync(path.dirname(dest), { recursive: true });
          fs.copyFileSync(full, dest);
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  await commitAll(dir, `${spec.pkg}@${spec.version} src/ without tests`, '2025-01-01T00:00:00Z', '1735689600 +0000');
  fs.writeFileSync(stamp, String(FORMAT));
  return dir;
}

function tsFiles(root: string): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const full = path.join(d, e.name);
      if (e.isDirectory()) stack.push(full);
      else if (/\.tsx?$/.test(e.name)) out.push(full);
    }
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// Mapping declarations to CodeGraph entities

/** CodeGraph entities of one file, for mapping compiler declarations by name and position. */
class EntityIndex {
  private byPathName = new Map<string, StoredEntity[]>();
  constructor(entities: StoredEntity[]) {
    for (const e of entities) {
      const k = `${e.path}\0${e.name}`;
      const list = this.byPathName.get(k);
      if (list) list.push(e);
      else this.byPathName.set(k, [e]);
    }
  }

  /** The entity of `file` with this qualified name (the first, when several share it). */
  byQualifiedName(file: string, name: string, qualifiedName: string): StoredEntity | null {
    return (this.byPathName.get(`${file}\0${name}`) ?? []).find((e) => e.qualifiedName === qualifiedName) ?? null;
  }

  /** The innermost entity named `name` in `file` whose lines contain `line`. */
  at(file: string, name: string, line: number): StoredEntity | null {
    let best: StoredEntity | null = null;
    for (const e of this.byPathName.get(`${file}\0${name}`) ?? []) {
      if (e.startLine <= line && line <= e.endLine && (!best || e.endLine - e.startLine < best.endLine - best.startLine)) best = e;
    }
    return best;
  }
}

const CALLABLE_KINDS = new Set(['function', 'method', 'constructor']);

/** The name of a function-like node as CodeGraph would see it, or null for an anonymous one. */
function nameOfFunction(n: ts.Node): ts.Node | null {
  if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isGetAccessorDeclaration(n) || ts.isSetAccessorDeclaration(n)
    || ts.isMethodSignature(n) || ts.isClassDeclaration(n)) && n.name) return n.name;
  if (ts.isConstructorDeclaration(n)) return n.getChildren().find((c) => c.kind === ts.SyntaxKind.ConstructorKeyword) ?? null;
  if (ts.isArrowFunction(n) || ts.isFunctionExpression(n)) {
    if (ts.isFunctionExpression(n) && n.name) return n.name;
    const p = n.parent;
    if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.initializer === n) return p.name;
    if (ts.isBinaryExpression(p) && p.right === n && ts.isPropertyAccessExpression(p.left)) return p.left.name;
  }
  return null;
}

const FUNCTION_LIKE = (n: ts.Node): boolean => ts.isFunctionLike(n) || ts.isClassStaticBlockDeclaration(n);

interface Site {
  file: string;
  line: number;
  /** The callee's name as written (`min` for `this.min(1)`). */
  callee: string;
  receiver: string;
  caller: string;
  /** Compiler's target: a qualified name, or a category when it is not an in-tree entity. */
  target: string;
  external: boolean;
}

/** The receiver form of a call, for error classes. */
function receiverForm(expr: ts.Expression, checker: ts.TypeChecker): string {
  if (expr.kind === ts.SyntaxKind.SuperKeyword) return 'super(...)';
  if (ts.isIdentifier(expr)) {
    const s = checker.getSymbolAtLocation(expr);
    const d = s?.declarations?.[0];
    if (d && (ts.isParameter(d) || (ts.isVariableDeclaration(d) && !(d.initializer && (ts.isArrowFunction(d.initializer) || ts.isFunctionExpression(d.initializer)))))) {
      return ts.isParameter(d) ? 'f() f a parameter' : 'f() f a variable';
    }
    if (d && (ts.isImportSpecifier(d) || ts.isImportClause(d))) return 'f() imported';
    return 'f()';
  }
  if (ts.isPropertyAccessExpression(expr) || ts.isElementAccessExpression(expr)) {
    const o = expr.expression;
    if (o.kind === ts.SyntaxKind.ThisKeyword) return 'this.m()';
    if (o.kind === ts.SyntaxKind.SuperKeyword) return 'super.m()';
    if (ts.isIdentifier(o)) {
      const s = checker.getSymbolAtLocation(o);
      const d = s?.declarations?.[0];
      if (d && ts.isNamespaceImport(d)) return 'ns.f() (namespace import)';
      if (d && (ts.isClassDeclaration(d))) return 'Class.m() (static)';
      if (d && (ts.isImportSpecifier(d) || ts.isImportClause(d))) return 'imported.m()';
      if (d && ts.isParameter(d)) return 'param.m()';
      if (d && ts.isVariableDeclaration(d)) return 'local.m()';
      if (!d || d.getSourceFile().isDeclarationFile) return 'Builtin.m()';
      return 'x.m()';
    }
    return 'expr.m()';
  }
  return 'other';
}

/** Resolves every call with the checker; returns the oracle's call sites. */
function oracle(root: string, files: string[], index: EntityIndex): Site[] {
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.esnext.d.ts', 'lib.dom.d.ts'], allowImportingTsExtensions: true,
  });
  const checker = program.getTypeChecker();
  const inTree = new Set(files.map((f) => path.resolve(f)));
  const rel = (sf: ts.SourceFile): string => path.relative(root, sf.fileName).split(path.sep).join('/');
  const lineOf = (n: ts.Node): number => n.getSourceFile().getLineAndCharacterOfPosition(n.getStart()).line + 1;

  /** The CodeGraph qualified name of the named function-like `n` (null when CodeGraph has none). */
  const qnameOf = (n: ts.Node, nameNode: ts.Node): string | null => {
    const sf = n.getSourceFile();
    const text = ts.isConstructorDeclaration(n) ? 'constructor' : nameNode.getText(sf).replace(/^['"]|['"]$/g, '');
    const found = index.at(rel(sf), text, lineOf(nameNode));
    if (found) return found.qualifiedName;
    // A method signature of an interface merged with a same-name value that implements it (zod's
    // `interface ZodType { check(): this }` beside `const ZodType = $constructor(..., { check() {...} })`)
    // has no entity of its own: CodeGraph folds it into the implementation, which carries the same
    // qualified name (README, "how an overload set appears"). Map the compiler's target there.
    if (ts.isMethodSignature(n) && ts.isInterfaceDeclaration(n.parent)) {
      return index.byQualifiedName(rel(sf), text, `${rel(sf)}::${n.parent.name.text}.${text}`)?.qualifiedName ?? null;
    }
    return null;
  };

  /** The declaration a call lands on, normalised: an overload signature stands for its implementation. */
  const targetDecl = (call: ts.CallExpression | ts.NewExpression): ts.Node | null => {
    let decl: ts.Node | undefined = checker.getResolvedSignature(call)?.declaration;
    if (!decl || ts.isJSDocSignature(decl)) {
      let sym = checker.getSymbolAtLocation(ts.isNewExpression(call) ? call.expression : call.expression);
      if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      decl = sym?.valueDeclaration ?? sym?.declarations?.[0];
    }
    if (!decl) return null;
    if ((ts.isFunctionDeclaration(decl) || ts.isMethodDeclaration(decl)) && !decl.body) {
      const sym = checker.getSymbolAtLocation(decl.name!);
      const impl = sym?.declarations?.find((d) => (ts.isFunctionDeclaration(d) || ts.isMethodDeclaration(d)) && d.body !== undefined);
      if (impl) decl = impl;
    }
    // Interface method overloads (no implementation) are one entity, the first signature (README).
    if (ts.isMethodSignature(decl)) {
      const sym = checker.getSymbolAtLocation(decl.name);
      const first = sym?.declarations?.find((d) => ts.isMethodSignature(d));
      if (first) decl = first;
    }
    // `foo: (x) => void` in an interface: the property signature is the entity.
    if (ts.isFunctionTypeNode(decl) && decl.parent && ts.isPropertySignature(decl.parent)) decl = decl.parent;
    return decl;
  };

  const sites: Site[] = [];
  for (const sf of program.getSourceFiles()) {
    if (!inTree.has(path.resolve(sf.fileName))) continue;
    const stack: ts.Node[] = [sf];
    while (stack.length > 0) {
      const node = stack.pop()!;
      node.forEachChild((c) => void stack.push(c));
      if (!ts.isCallExpression(node) && !ts.isNewExpression(node)) continue;
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword) continue;
      // The innermost named function around the call.
      let caller: string | null = null;
      for (let p: ts.Node | undefined = node.parent; p; p = p.parent) {
        if (!FUNCTION_LIKE(p)) continue;
        const nm = nameOfFunction(p);
        if (nm) { caller = qnameOf(p, nm) ?? `?${rel(sf)}::${nm.getText(sf)}`; break; }
      }
      if (caller === null) continue;
      const callee = node.expression.kind === ts.SyntaxKind.SuperKeyword ? 'super'
        : ts.isPropertyAccessExpression(node.expression) ? node.expression.name.text
        : ts.isIdentifier(node.expression) ? node.expression.text : '';
      const site: Site = { file: rel(sf), line: lineOf(node), callee, receiver: receiverForm(node.expression, checker), caller, target: 'unresolved', external: false };
      sites.push(site);
      const decl = targetDecl(node);
      if (!decl) continue;
      const dsf = decl.getSourceFile();
      if (!inTree.has(path.resolve(dsf.fileName))) { site.target = 'built-in/external'; site.external = true; continue; }
      const nm = nameOfFunction(decl) ?? (ts.isPropertySignature(decl) ? decl.name : null);
      if (!nm) { site.target = `not a named function (${ts.SyntaxKind[decl.kind]})`; continue; }
      site.target = qnameOf(decl, nm) ?? `?${rel(dsf)}::${nm.getText(dsf)}`;
    }
  }
  return sites;
}

// ---------------------------------------------------------------------------------------------

const keyOf = (from: string, to: string): string => `${from}\0${to}`;
const fileOf = (qn: string): string => qn.replace(/^\?/, '').split('::')[0]!;

export async function measureCorpus(spec: CorpusSpec): Promise<Record<string, unknown>> {
  const root = await ensureTree(spec);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'codegraph-callgraph-db-'));
  const db = await openDatabase({ dataDir });
  const indexer = new Indexer();
  const repo = await GitRepo.open(root);
  try {
    await migrate(db);
    const store = new HistoryStore(db);
    const t0 = performance.now();
    const sha = await indexCommit({ repo, store, indexer }, 'HEAD');
    const repoId = await store.repository(root);
    const entities: StoredEntity[] = [];
    for (let offset = 0; ; offset += 10_000) {
      const page = await store.entities(repoId, sha, { limit: 10_000, offset });
      entities.push(...page);
      if (page.length < 10_000) break;
    }
    const indexMs = performance.now() - t0;
    const index = new EntityIndex(entities);

    const t1 = performance.now();
    const sites = oracle(root, tsFiles(root).filter((f) => !f.includes(`${path.sep}.git${path.sep}`)), index);
    const oracleMs = performance.now() - t1;
    const truth = new Map<string, Site>();
    for (const s of sites) if (!s.external && !s.target.startsWith('unresolved') && !s.target.startsWith('not a')) truth.set(keyOf(s.caller, s.target), s);

    const t2 = performance.now();
    const got = new Map<string, { from: string; to: string; line: number; path: string }>();
    // `callGraph` resolves every call once with the resolver `callees()` walks (store/graph.ts
    // resolveCall); per-entity `callees(depth: 1)` gives the same pairs, one query per entity.
    const callable = new Set(entities.filter((e) => CALLABLE_KINDS.has(e.kind)).map((e) => e.qualifiedName));
    for (const edge of (await store.callGraph(repoId, sha)).edges) {
      if (!callable.has(edge.from.qualifiedName)) continue;
      got.set(keyOf(edge.from.qualifiedName, edge.to.qualifiedName), { from: edge.from.qualifiedName, to: edge.to.qualifiedName, line: edge.line, path: edge.from.path });
    }
    const cgMs = performance.now() - t2;

    // Call sites by (file, line, callee name), to classify a CodeGraph edge by the call it came from.
    const siteAt = new Map<string, Site[]>();
    for (const s of sites) {
      const k = `${s.file}\0${s.line}`;
      const list = siteAt.get(k);
      if (list) list.push(s);
      else siteAt.set(k, [s]);
    }
    const classes = new Map<string, { count: number; example: string }>();
    const errors: Array<{ class: string; example: string }> = [];
    const note = (cls: string, example: string): void => {
      errors.push({ class: cls, example });
      const c = classes.get(cls);
      if (c) c.count++;
      else classes.set(cls, { count: 1, example });
    };
    let tp = 0;
    let tpCross = 0;
    let gotCross = 0;
    for (const [k, e] of got) {
      const cross = fileOf(e.from) !== fileOf(e.to);
      if (cross) gotCross++;
      if (truth.has(k)) { tp++; if (cross) tpCross++; continue; }
      const name = e.to.split('::')[1]?.split('.').pop() ?? '';
      const site = (siteAt.get(`${e.path}\0${e.line}`) ?? []).find((s) => s.callee === name || (name === 'constructor' && s.callee === s.callee));
      let cls: string;
      if (!site) cls = 'FP: no call there per the compiler (nested caller, decorator or type position)';
      else if (site.caller !== e.from) cls = 'FP: call credited to an outer function (the compiler credits a nested named function)';
      else if (site.external) cls = `FP: ${site.receiver} on a built-in/external target`;
      else if (site.target === 'unresolved') cls = `FP: ${site.receiver} the compiler cannot resolve (any/unknown)`;
      else if (site.target.startsWith('not a')) cls = `FP: ${site.receiver} where the callee is a ${site.target.slice('not a named function ('.length, -1)}`;
      else cls = `FP: ${site.receiver} linked to another same-name entity`;
      note(cls, `${e.from} -> ${e.to} (line ${e.line}; compiler: ${site?.target ?? 'none'})`);
    }
    let truthCross = 0;
    for (const [k, s] of truth) {
      const cross = fileOf(s.caller) !== fileOf(s.target);
      if (cross) truthCross++;
      if (got.has(k)) continue;
      let cls: string;
      if (s.caller.startsWith('?')) cls = 'FN: caller is no CodeGraph entity';
      else if (s.target.startsWith('?')) cls = 'FN: callee is no CodeGraph entity';
      else cls = `FN: ${s.receiver} not linked`;
      note(cls, `${s.caller} -> ${s.target} (${s.file}:${s.line})`);
    }
    if (process.env.CODEGRAPH_BENCH_CALLGRAPH_DUMP) {
      // Every error with its class, for working on resolution (one JSON line each).
      fs.mkdirSync(process.env.CODEGRAPH_BENCH_CALLGRAPH_DUMP, { recursive: true });
      fs.writeFileSync(path.join(process.env.CODEGRAPH_BENCH_CALLGRAPH_DUMP, `${spec.id}.jsonl`), errors.map((e) => JSON.stringify(e)).join('\n') + '\n');
    }
    const top = [...classes.entries()].sort((a, b) => b[1].count - a[1].count).slice(0, 10)
      .map(([cls, v]) => ({ class: cls, count: v.count, example: v.example }));
    const round = (x: number): number => Number(x.toFixed(3));
    return {
      figure: `callgraph.${spec.id}`, package: `${spec.pkg}@${spec.version}`, what: spec.what,
      files: new Set(entities.map((e) => e.path)).size, compilerEdges: truth.size, codegraphEdges: got.size,
      precision: round(tp / Math.max(1, got.size)), recall: round(tp / Math.max(1, truth.size)),
      crossFilePrecision: round(tpCross / Math.max(1, gotCross)), crossFileRecall: round(tpCross / Math.max(1, truthCross)),
      crossFileCompilerEdges: truthCross,
      goal: { precision: 0.9, recall: 0.85 },
      seconds: { index: round(indexMs / 1000), compiler: round(oracleMs / 1000), codegraphCallees: round(cgMs / 1000) },
      errorClasses: top,
    };
  } finally {
    await indexer.close();
    await repo.close();
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function measure(): Promise<Array<Record<string, unknown>>> {
  const want = (process.env.CODEGRAPH_BENCH_CALLGRAPH ?? '').split(',').filter(Boolean);
  const out: Array<Record<string, unknown>> = [];
  for (const spec of CORPORA) {
    if (want.length > 0 && !want.includes(spec.id)) continue;
    log(`${spec.pkg}@${spec.version}`);
    out.push(await measureCorpus(spec));
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const want = process.argv.slice(2);
  for (const spec of CORPORA) {
    if (want.length > 0 && !want.includes(spec.id)) continue;
    const row = await measureCorpus(spec);
    const { errorClasses, ...rest } = row;
    console.log(JSON.stringify({ bench: name, ...rest }));
    for (const c of errorClasses as Array<{ class: string; count: number; example: string }>) process.stderr.write(`  ${c.count}\t${c.class}\n\t\te.g. ${c.example}\n`);
  }
}
