// A repository whose history exercises what the hot store's incremental update must get right
// (issue #12): body-only edits, renamed and removed callees (callers elsewhere lose edges), added
// and deleted files (import resolution), changed base classes (ancestor chains), aliased imports,
// Python classes. Seeded, so every run builds the same history.
import { makeRepo, type TestRepo } from './helpers/gitrepo.ts';

export interface HotFixture {
  repo: TestRepo;
  /** Commits, oldest first, each a tip the test moves `main` to. */
  commits: string[];
  /** Commit index -> the files an update from the previous commit must resolve, at most (the
   * changed file plus those that read exactly what changed; issue #12). */
  resolvedAtMost: Map<number, number>;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Fn { name: string; calls: string[]; body: number }
interface Mod { fns: Fn[]; cls: { name: string; base: string | null; methods: string[] } | null }

function render(mods: Map<string, Mod>, file: string): string {
  const m = mods.get(file)!;
  const imports = new Map<string, Set<string>>();
  const local = new Set(m.fns.map((f) => f.name));
  const owner = new Map<string, string>();
  for (const [p, o] of mods) for (const f of o.fns) if (!owner.has(f.name)) owner.set(f.name, p);
  for (const [p, o] of mods) if (o.cls && !owner.has(o.cls.name)) owner.set(o.cls.name, p);
  const need = (name: string): void => {
    if (local.has(name) || m.cls?.name === name) return;
    const p = owner.get(name);
    if (!p || p === file) return;
    let s = imports.get(p);
    if (!s) imports.set(p, (s = new Set()));
    s.add(name);
  };
  for (const f of m.fns) for (const c of f.calls) need(c);
  if (m.cls?.base) need(m.cls.base);
  const lines: string[] = [];
  for (const [p, names] of [...imports].sort()) {
    const spec = `./${p.replace(/^src\//, '').replace(/\.ts$/, '')}`;
    lines.push(`import { ${[...names].sort().join(', ')} } from '${spec}';`);
  }
  lines.push('');
  for (const f of m.fns) {
    lines.push(`export function ${f.name}(x: number): number {`);
    for (let b = 0; b < f.body; b++) lines.push(`  x = x + ${b};`);
    for (const c of f.calls) lines.push(`  x = x + Number(${c}(x));`);
    lines.push('  return x;', '}', '');
  }
  if (m.cls) {
    lines.push(`export class ${m.cls.name}${m.cls.base ? ` extends ${m.cls.base}` : ''} {`);
    for (const meth of m.cls.methods) lines.push(`  ${meth}(): number {`, `    return this.helper() + ${m.fns[0]?.name ?? 'Number'}(1);`, '  }');
    lines.push('  helper(): number {', '    return 1;', '  }', '}', '');
  }
  return lines.join('\n');
}

const PY = (name: string, extra: string): string => `class Base:
    def run(self):
        return self.step()

    def step(self):
        return 1


class ${name}(Base):
    def step(self):
        return helper() + ${extra}


def helper():
    return 2


def main():
    return ${name}().run()
`;

export async function buildHotFixture(steps = 10, seed = 7): Promise<HotFixture> {
  const rand = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const repo = await makeRepo();
  const mods = new Map<string, Mod>();
  let counter = 0;
  const fresh = (): string => `fn${counter++}`;
  for (let i = 0; i < 5; i++) {
    const fns: Fn[] = [];
    for (let j = 0; j < 4; j++) fns.push({ name: fresh(), calls: [], body: 1 });
    mods.set(`src/m${i}.ts`, { fns, cls: i % 2 === 0 ? { name: `C${i}`, base: i >= 2 ? `C${i - 2}` : null, methods: ['run', 'stop'] } : null });
  }
  const allFns = (): string[] => [...mods.values()].flatMap((m) => m.fns.map((f) => f.name));
  for (const m of mods.values()) for (const f of m.fns) f.calls = [pick(allFns()), pick(allFns())].filter((c) => c !== f.name);
  // Text appended to a rendered module (functions added after everything else, so no entity index moves).
  const tails = new Map<string, string>();
  const write = async (): Promise<void> => {
    const files: Record<string, string> = {};
    for (const p of mods.keys()) files[p] = render(mods, p) + (tails.get(p) ?? '');
    await repo.writeFiles(files);
  };
  await write();
  const barrel = (alias: string, star: boolean): string => `export * from './m0';\nexport { fn5 as ${alias} } from './m1';\n${star ? "export * from './m2';\n" : ''}`;
  await repo.writeFiles({
    'src/alias.ts': `import { fn0 as first } from './m0';\n\nexport function viaAlias(): number {\n  return first(1);\n}\n`,
    'py/app.py': PY('Worker', '1'),
    // A barrel (re-exports, an aliased re-export) and a file reading through it, a namespace
    // import and a typed receiver.
    'src/index.ts': barrel('five', false),
    'src/use.ts': `import { fn1, five, fn9 } from './index';\nimport * as ns from './m3';\nimport { C0 } from './m0';\n\n`
      + `export function useAll(): number {\n  const c = new C0();\n  return fn1(1) + five(2) + fn9(3) + ns.fn13(4) + c.run();\n}\n`,
    // A monorepo package importing another by its package name, whose entry file comes later.
    'pkgs/app/src/main.ts': `import { libFn } from '@acme/lib';\n\nexport function useLib(): number {\n  return libFn(1);\n}\n`,
  });
  const commits = [await repo.commit('start')];
  for (let s = 0; s < steps; s++) {
    const paths = [...mods.keys()];
    const op = s % 6;
    let msg: string;
    if (op === 0) {
      // Body-only edit: lines shift, nothing else changes.
      const m = mods.get(pick(paths))!;
      pick(m.fns).body += 2;
      msg = 'body edit';
    } else if (op === 1) {
      // Rename a function, leaving its callers elsewhere calling the old name.
      const m = mods.get(pick(paths))!;
      const f = pick(m.fns);
      f.name = fresh();
      msg = 'rename';
    } else if (op === 2) {
      // A new file with functions calling existing ones.
      const p = `src/new${s}.ts`;
      mods.set(p, { fns: [{ name: fresh(), calls: [pick(allFns()), pick(allFns())], body: 1 }], cls: null });
      msg = 'add file';
    } else if (op === 3) {
      // A caller elsewhere gains a call.
      const m = mods.get(pick(paths))!;
      pick(m.fns).calls.push(pick(allFns()));
      msg = 'new call';
    } else if (op === 4) {
      // Delete a file (its callers keep calling).
      const p = pick(paths.filter((x) => !/m[0-2]\.ts$/.test(x)));
      mods.delete(p);
      await repo.remove(p);
      msg = 'delete file';
    } else {
      // A class changes its base; the Python subclass too.
      const m = mods.get('src/m4.ts')!;
      m.cls!.base = m.cls!.base === 'C2' ? 'C0' : 'C2';
      await repo.write('py/app.py', PY(s % 12 === 5 ? 'Runner' : 'Worker', String(s)));
      msg = 'change base';
    }
    await write();
    commits.push(await repo.commit(`step ${s}: ${msg}`));
  }

  // 1-file commits whose update must stay O(1) (issue #12), then wider ones.
  const resolvedAtMost = new Map<number, number>();
  const step = async (msg: string, atMost: number | null, change: () => Promise<void>): Promise<void> => {
    await change();
    if (atMost !== null) resolvedAtMost.set(commits.length, atMost);
    commits.push(await repo.commit(msg));
  };
  const fnText = (name: string, body: string): string => `\nexport function ${name}(x: number): number {\n  return ${body};\n}\n`;
  await step('add a function to a widely imported file', 1, async () => {
    tails.set('src/m0.ts', fnText('addedLater', 'x + 1'));
    await write();
  });
  await step('edit that function\'s body', 1, async () => {
    tails.set('src/m0.ts', fnText('addedLater', 'x + 2 * x'));
    await write();
  });
  await step('add a function to a namespace-imported file', 1, async () => {
    tails.set('src/m3.ts', fnText('alsoLater', 'x - 1'));
    await write();
  });
  await step('rename an aliased re-export', 2, () => repo.write('src/index.ts', barrel('cinco', false)));
  await step('add an export *', 2, () => repo.write('src/index.ts', barrel('cinco', true)));
  await step('add the entry file of a package imported by name', null, () => repo.write('pkgs/lib/src/index.ts', fnText('libFn', 'x * 3')));
  await step('rename a function of the widely imported file', null, async () => {
    const f = mods.get('src/m0.ts')!.fns[1]!;
    f.name = fresh();
    await write();
  });
  await step('change a base class', null, async () => {
    mods.get('src/m2.ts')!.cls!.base = null;
    await write();
  });
  await step('remove the added function', null, async () => {
    tails.delete('src/m0.ts');
    await write();
  });
  return { repo, commits, resolvedAtMost };
}
