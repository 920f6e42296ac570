// Call resolution that uses the receiver and scope (issue 10), on both backends: golden edges per
// language for the receiver forms (self/this, super, static, package/namespace-qualified, shadowing
// parameter, built-in receiver, override), and one regression test per error class the compiler
// comparison found (test/fixtures/calls/ts/*, numbered as in the issue).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { indexCommit } from '../daemon/history.ts';
import type { Db } from '../store/db.ts';
import type { CallEdge, HistoryStore, ResolutionStats } from '../store/index.ts';
import { cleanupAll, makeRepo } from './helpers/gitrepo.ts';
import { withBackends } from './harness/pg.ts';
import { openStore, withGit, withIndexer } from './store-fixtures.ts';

after(cleanupAll);

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'calls');

function readTree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) Object.assign(out, readTree(path.join(dir, e.name), rel));
    else out[rel] = fs.readFileSync(path.join(dir, e.name), 'utf8');
  }
  return out;
}

const edge = (e: CallEdge): string => `${e.from.qualifiedName} -> ${e.to.qualifiedName} (${e.via})`;

await withBackends('call resolution by receiver and scope', (b) => {
  let db: Db;
  let store: HistoryStore;
  let repoId: number;
  let sha: string;
  let edges: string[];
  let stats: ResolutionStats;
  before(async () => {
    const repo = await makeRepo();
    await repo.writeFiles(readTree(FIXTURES));
    await repo.commit('call fixtures');
    db = await (await b.fresh()).open();
    store = await openStore(db);
    await withGit(repo.dir, (git) => withIndexer(async (indexer) => {
      sha = await indexCommit({ repo: git, store, indexer }, 'HEAD');
    }));
    repoId = await store.repository(repo.dir);
    const g = await store.callGraph(repoId, sha);
    edges = [...new Set(g.edges.map(edge))].sort();
    stats = g.stats;
  });
  after(async () => db.close());

  const under = (prefix: string): string[] => edges.filter((e) => e.startsWith(prefix));

  it('Python: self, super(), Class.static, module alias, shadowing parameter, built-in receiver', () => {
    assert.deepEqual(under('py/'), [
      'py/base.py::Base.describe -> py/base.py::Base.area (exact)',
      'py/base.py::Base.make -> py/base.py::Base (exact)',
      'py/shapes.py::Square.area -> py/base.py::Base.area (exact)',
      'py/shapes.py::Square.show -> py/base.py::Base.make (import)',
      'py/shapes.py::Square.show -> py/helpers.py::fmt (import)',
      'py/shapes.py::Square.show -> py/shapes.py::Square.area (exact)',
    ]);
  });

  it('Go: receiver variables, package qualifiers, shadowing parameter, external packages, struct field chains', () => {
    assert.deepEqual(under('go/'), [
      'go/main.go::run -> go/shape/shape.go::New (import)',
      'go/main.go::run -> go/shape/shape.go::Shape.Area (name_only)',
      // A field of a field of the receiver (gin's `group.engine.addRoute`), and an embedded struct.
      'go/router/router.go::Engine.GET -> go/router/router.go::RouterGroup.handle (receiver_type)',
      'go/router/router.go::RouterGroup.handle -> go/router/router.go::Engine.addRoute (receiver_type)',
      'go/shape/shape.go::Shape.Describe -> go/shape/shape.go::Shape.Area (receiver_type)',
      'go/shape/shape.go::Shape.Describe -> go/shape/shape.go::format (exact)',
    ]);
  });

  it('Java: this, implicit this, super, super(...), static, typed locals, fields, built-in receiver', () => {
    assert.deepEqual(under('java/').filter((e) => !e.startsWith('java/com/ex/Over.java')), [
      'java/com/ex/Base.java::Base.describe -> java/com/ex/Base.java::Base.area (exact)',
      'java/com/ex/Base.java::Base.make -> java/com/ex/Base.java::Base.Base (exact)',
      // A field initialiser (`new Helper()`) is a call made by the class itself.
      'java/com/ex/Square.java::Square -> java/com/ex/Helper.java::Helper (exact)',
      // super(...) is the superclass's constructor: the Java Base, not the C++ geo::Base.
      'java/com/ex/Square.java::Square.Square -> java/com/ex/Base.java::Base.Base (exact)',
      'java/com/ex/Square.java::Square.area -> java/com/ex/Base.java::Base.area (exact)',
      'java/com/ex/Square.java::Square.show -> java/com/ex/Base.java::Base.describe (receiver_type)',
      'java/com/ex/Square.java::Square.show -> java/com/ex/Base.java::Base.make (exact)',
      'java/com/ex/Square.java::Square.show -> java/com/ex/Helper.java::Helper.help (receiver_type)',
    ]);
  });

  it('Rust: self, Type::assoc, module::f, typed lets, trait default methods, shadowing parameter, self.field chains', () => {
    assert.deepEqual(under('rust/'), [
      'rust/src/main.rs::run -> rust/src/shape.rs::Named.name (receiver_type)',
      'rust/src/main.rs::run -> rust/src/shape.rs::Shape.area (receiver_type)',
      'rust/src/main.rs::run -> rust/src/shape.rs::Shape.describe (receiver_type)',
      'rust/src/main.rs::run -> rust/src/shape.rs::Shape.new (import)',
      'rust/src/main.rs::run -> rust/src/shape.rs::helper (import)',
      'rust/src/router.rs::Group.handle -> rust/src/router.rs::Engine.add_route (receiver_type)',
      'rust/src/shape.rs::Shape.describe -> rust/src/shape.rs::Shape.area (exact)',
      'rust/src/shape.rs::Shape.describe -> rust/src/shape.rs::helper (exact)',
    ]);
  });

  it('C++: this->, implicit this, Base::m, ns::f, typed locals and pointers, shadowing parameter, std receiver', () => {
    assert.deepEqual(under('cpp/geo.cpp'), [
      'cpp/geo.cpp::geo.Base.describe -> cpp/geo.cpp::geo.Base.area (exact)',
      'cpp/geo.cpp::geo.Base.make -> cpp/geo.cpp::geo.Base (exact)',
      'cpp/geo.cpp::geo.Square.area -> cpp/geo.cpp::geo.Base.area (exact)',
      'cpp/geo.cpp::geo.Square.show -> cpp/geo.cpp::geo.Base.describe (receiver_type)',
      'cpp/geo.cpp::geo.Square.show -> cpp/geo.cpp::geo.Square.area (receiver_type)',
      'cpp/geo.cpp::geo.Square.show -> cpp/geo.cpp::geo.helper (exact)',
    ]);
  });

  it('1. a built-in or unknown receiver never links by name alone', () => {
    assert.deepEqual(under('ts/builtins.ts'), []);
  });

  it('2. this.m() links to the enclosing class only, not to same-name sibling methods', () => {
    assert.deepEqual(under('ts/schema.ts::NumberSchema.positive'), ['ts/schema.ts::NumberSchema.positive -> ts/schema.ts::NumberSchema.min (exact)']);
  });

  it('3. this.parse() in a base class is the base method; overrides are a separate relation', async () => {
    assert.deepEqual(under('ts/schema.ts::Schema.safeParse'), ['ts/schema.ts::Schema.safeParse -> ts/schema.ts::Schema.parse (exact)']);
    assert.deepEqual((await store.overrides(repoId, sha, 'ts/schema.ts::Schema.parse')).map((e) => e.qualifiedName).sort(),
      ['ts/schema.ts::NumberSchema.parse', 'ts/schema.ts::StringSchema.parse']);
  });

  it('4. calling a parameter or local does not link to a same-name method', () => {
    assert.deepEqual(under('ts/focus.ts::FocusManager.setup'), [
      'ts/focus.ts::FocusManager.setup -> ts/focus.ts::FocusManager.setup.listener (exact)',
      'ts/focus.ts::FocusManager.setup -> ts/focus.ts::FocusManager.setup.nested (exact)',
      'ts/focus.ts::FocusManager.setup.nested -> ts/focus.ts::helper (exact)',
    ]);
  });

  it('5. a call in a nested named function is credited to it alone, by callees and callers alike', async () => {
    const callees = (await store.callees(repoId, sha, 'ts/focus.ts::FocusManager.setup')).map(edge);
    assert.ok(!callees.some((e) => e.includes('::helper')), callees.join('\n'));
    assert.deepEqual((await store.callers(repoId, sha, 'ts/focus.ts::helper')).map(edge).sort(), [
      'ts/focus.ts::FocusManager.setup.nested -> ts/focus.ts::helper (exact)',
      'ts/overloads.ts::Thing -> ts/focus.ts::helper (import)',
      'ts/overloads.ts::over -> ts/focus.ts::helper (import)',
    ]);
  });

  it('6. re-exports and namespace imports are followed across files', () => {
    assert.deepEqual(under('ts/app.ts'), [
      'ts/app.ts::make -> ts/core/impl.ts::config (import)',
      'ts/app.ts::make -> ts/core/impl.ts::make (import)',
      'ts/app.ts::make -> ts/core/impl.ts::original (import)',
    ]);
  });

  it('6. callers follow the alias a function is re-exported under (`renamed()` calls `original`), as callees do', async () => {
    assert.deepEqual((await store.callers(repoId, sha, 'ts/core/impl.ts::original')).map(edge), ['ts/app.ts::make -> ts/core/impl.ts::original (import)']);
  });

  it('6. a monorepo package imported by its name is its entry file, a sub-path its file; an external package stays external', async () => {
    const app = 'ts/mono/packages/app/src/main.ts';
    assert.deepEqual(under(app), [
      `${app}::run -> ts/mono/packages/util/src/format.ts::format (import)`,
      `${app}::run -> ts/mono/packages/util/src/math.ts::twice (import)`,
    ]);
    assert.deepEqual((await store.callers(repoId, sha, 'ts/mono/packages/util/src/format.ts::format')).map(edge), [`${app}::run -> ts/mono/packages/util/src/format.ts::format (import)`]);
    assert.deepEqual(await store.imports(repoId, sha, app), [
      { module: '@acme/util', path: 'ts/mono/packages/util/src/index.ts' },
      { module: '@acme/util/math', path: 'ts/mono/packages/util/src/math.ts' },
      { module: 'react', path: null },
    ]);
  });

  it('7. an overloaded function and a type-and-function name keep the implementation\'s callees', async () => {
    assert.deepEqual((await store.callees(repoId, sha, 'ts/overloads.ts::over')).map(edge), ['ts/overloads.ts::over -> ts/focus.ts::helper (import)']);
    assert.deepEqual((await store.callees(repoId, sha, 'ts/overloads.ts::Thing')).map(edge), ['ts/overloads.ts::Thing -> ts/focus.ts::helper (import)']);
  });

  it('7. Java and C++ overloads are entities of their own, named by their parameter types, each with its callees', async () => {
    assert.deepEqual(under('java/com/ex/Over.java'), [
      'java/com/ex/Over.java::Over.scale(double) -> java/com/ex/Over.java::Over.half (exact)',
      'java/com/ex/Over.java::Over.scale(int) -> java/com/ex/Over.java::Over.twice (exact)',
      'java/com/ex/Over.java::Over.scale(int,int) -> java/com/ex/Over.java::Over.twice (exact)',
      // `new Over(4)`: the constructor taking one argument, not `Over()`.
      'java/com/ex/Over.java::Over.use -> java/com/ex/Over.java::Over.Over(int) (exact)',
      // `scale(3)`: both one-parameter overloads (argument types are not inferred), not `scale(int,int)`.
      'java/com/ex/Over.java::Over.use -> java/com/ex/Over.java::Over.scale(double) (exact)',
      'java/com/ex/Over.java::Over.use -> java/com/ex/Over.java::Over.scale(int) (exact)',
      // `scale(1, 2)`: the two-parameter overload only.
      'java/com/ex/Over.java::Over.use -> java/com/ex/Over.java::Over.scale(int,int) (exact)',
    ]);
    assert.deepEqual(under('cpp/over.cpp'), [
      'cpp/over.cpp::ov.Scaler.scale(double) -> cpp/over.cpp::ov.half (exact)',
      'cpp/over.cpp::ov.Scaler.scale(int) -> cpp/over.cpp::ov.twice (exact)',
    ]);
    assert.deepEqual((await store.callees(repoId, sha, 'cpp/over.cpp::ov.Scaler.scale(int)')).map(edge), ['cpp/over.cpp::ov.Scaler.scale(int) -> cpp/over.cpp::ov.twice (exact)']);
    const ids = (await store.entities(repoId, sha, { pathPrefix: 'java/com/ex/Over.java', limit: 100 })).map((e) => e.qualifiedName);
    assert.equal(new Set(ids).size, ids.length, 'one qualified name per entity');
    await assert.rejects(store.callees(repoId, sha, 'java/com/ex/Over.java::Over.scale'), (err: Error & { code?: string }) =>
      err.code === 'ENTITY_NOT_FOUND' && err.message.includes('`java/com/ex/Over.java::Over.scale(int)`'));
  });

  it('8. child.destroy() inside Parent.destroy is the child\'s method, never a self-loop', () => {
    const d = under('ts/tree.ts::Parent.destroy');
    assert.ok(d.includes('ts/tree.ts::Parent.destroy -> ts/tree.ts::Child.destroy (receiver_type)'), d.join('\n'));
    assert.ok(!d.some((e) => e.endsWith('-> ts/tree.ts::Parent.destroy (exact)')), d.join('\n'));
  });

  it('9. a namespace-qualified call is not resolved to a local of the same name', () => {
    assert.ok(!under('ts/app.ts').some((e) => e.includes('-> ts/app.ts::make')));
  });

  it('10. super(...) and new X() land on the constructor, or the class without one; super.m() on the base', () => {
    assert.deepEqual(under('ts/tree.ts::Parent'), [
      'ts/tree.ts::Parent -> ts/tree.ts::Child (exact)',
      'ts/tree.ts::Parent.constructor -> ts/tree.ts::Base.constructor (exact)',
      'ts/tree.ts::Parent.destroy -> ts/tree.ts::Base.close (exact)',
      'ts/tree.ts::Parent.destroy -> ts/tree.ts::Base.constructor (exact)',
      'ts/tree.ts::Parent.destroy -> ts/tree.ts::Child.destroy (receiver_type)',
      'ts/tree.ts::Parent.destroy -> ts/tree.ts::Plain (exact)',
    ]);
  });

  it('receivers typed only by inference link: return types, fields, module instances, casts, callback parameters', () => {
    assert.deepEqual(under('ts/infer/use.ts'), [
      'ts/infer/use.ts::Observer.update -> ts/infer/cache.ts::Client.cache (receiver_type)',
      'ts/infer/use.ts::Observer.update -> ts/infer/cache.ts::Client.getQueryCache (receiver_type)',
      'ts/infer/use.ts::Observer.update -> ts/infer/cache.ts::Config.onError (receiver_type)',
      'ts/infer/use.ts::Observer.update -> ts/infer/cache.ts::Query.cancel (receiver_type)',
      'ts/infer/use.ts::Observer.update -> ts/infer/cache.ts::Query.fetch (receiver_type)',
      'ts/infer/use.ts::Observer.update -> ts/infer/cache.ts::QueryCache.build (receiver_type)',
      'ts/infer/use.ts::run -> ts/infer/cache.ts::Query.cancel (receiver_type)',
      'ts/infer/use.ts::run -> ts/infer/cache.ts::Query.fetch (receiver_type)',
      'ts/infer/use.ts::run -> ts/infer/cache.ts::QueryCache.notify (receiver_type)',
      'ts/infer/use.ts::run -> ts/infer/cache.ts::Timer.schedule (receiver_type)',
      'ts/infer/use.ts::run -> ts/infer/cache.ts::makeCache (import)',
      'ts/infer/use.ts::run -> ts/infer/cache.ts::operate (import)',
    ]);
  });

  it('new X() of a class without a constructor lands on the inherited constructor', () => {
    assert.deepEqual(under('ts/ctor.ts'), ['ts/ctor.ts::AnySchema.create -> ts/ctor.ts::Schema.constructor (exact)']);
  });

  it('a bare call of a name the file defines as a value never links to another file\'s same-name class', () => {
    assert.deepEqual(under('ts/values.ts'), [
      'ts/values.ts::QueryCache -> ts/values.ts::makeCtor (exact)',
      'ts/values.ts::setup.inst._zod.parse -> ts/values.ts::build (exact)',
    ]);
  });

  it('gh: a function behind a type assertion (const f = ((x) => ...) as F) is a function, and calls to it link', () => {
    assert.deepEqual(under('ts/cast/'), [
      'ts/cast/react.ts::createImpl -> ts/cast/vanilla.ts::createStore (import)',
      'ts/cast/react.ts::createImpl -> ts/cast/vanilla.ts::twice (import)',
      'ts/cast/vanilla.ts::createStore -> ts/cast/vanilla.ts::createStoreImpl (exact)',
    ]);
  });

  it('filters edges by minimum confidence and counts unresolved calls by reason', async () => {
    const all = (await store.callees(repoId, sha, 'go/main.go::run')).map(edge);
    const sure = (await store.callees(repoId, sha, 'go/main.go::run', 1, 'import')).map(edge);
    assert.deepEqual(all, ['go/main.go::run -> go/shape/shape.go::New (import)', 'go/main.go::run -> go/shape/shape.go::Shape.Area (name_only)']);
    assert.deepEqual(sure, ['go/main.go::run -> go/shape/shape.go::New (import)']);
    // Locals: the shadowing parameters of py, go, rust, cpp and the called parameter in ts/cast; external: ts/mono's `useState`
    // of 'react'; built-ins: `items.append`, `s.trim()`,
    // `arr.push`, Rust `self.trees.clear()`; ambiguous: Go `engine.trees[0].addRoute` (an element of a slice field: two
    // `addRoute` methods, no type for the element).
    assert.deepEqual(stats, { resolved: 96, unresolved: 25, ambiguous: 1, byReason: { external: 7, none: 8, local: 6, builtin: 4, ambiguous: 1 } });
    assert.equal(stats.unresolved + stats.ambiguous, Object.values(stats.byReason).reduce((a, n) => a + (n ?? 0), 0));
  });

  it('refuses call edges over files indexed by an extractor without call bindings, with a clear message', async () => {
    const { rows } = await db.query<{ id: number; v: number }>('SELECT min(id) AS id, min(extractor_version) AS v FROM extractions');
    await db.query('UPDATE extractions SET extractor_version = 3 WHERE id = $1', [rows[0]!.id]);
    try {
      await assert.rejects(store.callees(repoId, sha, 'go/main.go::run'), (err: Error & { code?: string }) =>
        err.code === 'REINDEX_REQUIRED' && /Re-index the repository/.test(err.message));
    } finally {
      await db.query('UPDATE extractions SET extractor_version = $2 WHERE id = $1', [rows[0]!.id, rows[0]!.v]);
    }
  });
});
