// Shared by the store/history tests: a scripted repository whose commits exercise every kind of
// entity-level change, and helpers to index it into a store on either backend.
import { GitRepo } from '../indexer/git/index.ts';
import { Indexer } from '../indexer/index.ts';
import { migrate } from '../store/migrate.ts';
import { HistoryStore, type EntityChangeRecord, type EntityRef } from '../store/index.ts';
import type { Db } from '../store/db.ts';
import { makeRepo, type TestRepo } from './helpers/gitrepo.ts';

export const MATH_V1 = `export function add(a: number, b: number): number {
  return a + b;
}

export function sub(a: number, b: number): number {
  return a - b;
}

export function mul(a: number, b: number): number {
  return a * b;
}
`;

export const APP_V1 = `import { add } from './math';

export function main(): number {
  return add(1, 2);
}
`;

export const UTIL_V1 = `def greet(name):
    return "hi " + name


def shout(name):
    return greet(name).upper()
`;

export interface Fixture {
  repo: TestRepo;
  /** Commit ids by step name. */
  c: Record<string, string>;
}

/** Builds the fixture history. Steps (each one commit on main unless noted):
 *  c1 root: src/math.ts (add, sub, mul), src/app.ts (main calls add), py/util.py (greet, shout)
 *  c2 body change of sub
 *  c3 signature-only change of mul (b: number -> b: bigint)
 *  c4 whitespace-only change of main
 *  c5 rename greet -> welcome (shout updated to call it)
 *  c6 move mul from src/math.ts to a new src/ops.ts
 *  c7 rename file py/util.py -> py/helpers.py (content unchanged)
 *  c8 add div to math.ts; delete src/app.ts
 *  f1 (branch feature from c8) add mod to ops.ts
 *  c9 (main) body change of add
 *  m1 merge feature into main
 */
export async function buildFixture(): Promise<Fixture> {
  const repo = await makeRepo();
  const c: Record<string, string> = {};
  await repo.writeFiles({ 'src/math.ts': MATH_V1, 'src/app.ts': APP_V1, 'py/util.py': UTIL_V1 });
  c.c1 = await repo.commit('c1: initial');
  await repo.write('src/math.ts', MATH_V1.replace('return a - b;', 'return b - a;'));
  c.c2 = await repo.commit('c2: sub body');
  const math3 = MATH_V1.replace('return a - b;', 'return b - a;').replace('mul(a: number, b: number)', 'mul(a: number, b: bigint)');
  await repo.write('src/math.ts', math3);
  c.c3 = await repo.commit('c3: mul signature');
  await repo.write('src/app.ts', APP_V1.replace('  return add(1, 2);', '    return add(1,   2);'));
  c.c4 = await repo.commit('c4: whitespace');
  await repo.write('py/util.py', UTIL_V1.replace('def greet', 'def welcome').replace('return greet(', 'return welcome('));
  c.c5 = await repo.commit('c5: rename greet');
  const math6 = math3.replace(/\nexport function mul[\s\S]*$/, '');
  await repo.write('src/math.ts', math6);
  await repo.write('src/ops.ts', 'export function mul(a: number, b: bigint): number {\n  return a * b;\n}\n');
  c.c6 = await repo.commit('c6: move mul');
  await repo.rename('py/util.py', 'py/helpers.py');
  c.c7 = await repo.commit('c7: rename file');
  await repo.write('src/math.ts', `${math6}\nexport function div(a: number, b: number): number {\n  return a / b;\n}\n`);
  await repo.remove('src/app.ts');
  c.c8 = await repo.commit('c8: add div, delete app');
  await repo.branch('feature');
  await repo.checkout('feature');
  await repo.write('src/ops.ts', 'export function mul(a: number, b: bigint): number {\n  return a * b;\n}\n\nexport function mod(a: number, b: number): number {\n  return a % b;\n}\n');
  c.f1 = await repo.commit('f1: add mod');
  await repo.checkout('main');
  const math9 = (await repo.git(['show', 'HEAD:src/math.ts'])).replace('return a + b;', 'return a + b + 0;');
  await repo.write('src/math.ts', `${math9}\n`);
  c.c9 = await repo.commit('c9: add body');
  await repo.git(['merge', '-q', '--no-ff', '-m', 'm1: merge feature', 'feature'], { env: { GIT_AUTHOR_DATE: '@1600000000 +0000', GIT_COMMITTER_DATE: '@1600000000 +0000' } });
  c.m1 = await repo.git(['rev-parse', 'HEAD']);
  return { repo, c };
}

/** `kind name qualifiedName @path:start-end`: every field of an EntityRef, compact for asserts. */
export function fmt(e: EntityRef): string {
  return `${e.kind} ${e.name} ${e.qualifiedName} @${e.path}:${e.startLine}-${e.endLine}`;
}

export async function openStore(db: Db): Promise<HistoryStore> {
  await migrate(db);
  return new HistoryStore(db);
}

export async function withIndexer<T>(fn: (indexer: Indexer) => Promise<T>): Promise<T> {
  const indexer = new Indexer({ threads: 2 });
  try {
    return await fn(indexer);
  } finally {
    await indexer.close();
  }
}

export async function withGit<T>(path: string, fn: (repo: GitRepo) => Promise<T>): Promise<T> {
  const repo = await GitRepo.open(path);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

/** An entity's history, one line per version: sha, kind, change, name and previous name. */
export const brief = (h: EntityChangeRecord[]): string[] =>
  h.map((x) => `${x.sha.slice(0, 7)} ${x.kind} ${x.change} ${x.qualifiedName ?? '-'} <- ${x.previousQualifiedName ?? '-'}${x.boundary ? ' boundary' : ''}`);

/** Every entity's history at every commit (the kinds and names of every tree), as text. */
export async function allHistories(store: HistoryStore, repoId: number, shas: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const sha of shas) {
    for (const e of await store.entities(repoId, sha, { limit: 10_000 })) {
      if (e.kind === 'module' || e.kind === 'import') continue;
      out.push(`${sha.slice(0, 7)} ${e.kind} ${e.qualifiedName}`, ...brief(await store.entityHistory(repoId, sha, e.qualifiedName, e.kind)));
    }
  }
  return out;
}
