// A small TypeScript repository for the search and graph-query tests: known names, a call chain, a
// widely called utility, a leaf, an import cycle, and a second commit that renames a function.
import { makeRepo, type TestRepo } from './helpers/gitrepo.ts';

export const FILES: Record<string, string> = {
  'src/util/log.ts': `/** Writes one line to the log. */
export function log(msg: string): void {
  process.stdout.write(msg);
}

export function unusedLeaf(x: number): number {
  return x * 2;
}

export function aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab(): void {}
`,
  'src/http/client.ts': `import { log } from '../util/log';

/** Parses an HTTP response body into JSON. */
export function parseHTTPResponse(body: string): unknown {
  log('parse');
  return JSON.parse(body);
}

export function parseResponse(body: string): unknown {
  log('response');
  return parseHTTPResponse(body);
}

export function fetchUser(id: string): unknown {
  log('fetch');
  return parseResponse(id);
}

export function getUser(id: string): unknown {
  log('get');
  return fetchUser(id);
}

export function getUserName(id: string): string {
  log('name');
  return String(getUser(id));
}

export function forgetUser(): void {
  log('forget');
}
`,
  'src/cycle/a.ts': `import { b } from './b';\nexport function a(): number {\n  return b();\n}\n`,
  'src/cycle/b.ts': `import { c } from './c';\nexport function b(): number {\n  return c();\n}\n`,
  'src/cycle/c.ts': `import { a } from './a';\nexport function c(): number {\n  return a();\n}\n`,
  'src/cycle/outside.ts': `import { a } from './a';\nexport function outside(): number {\n  return a();\n}\n`,
};

export interface SearchFixture {
  repo: TestRepo;
  /** The first commit: `fetchUser` exists. */
  old: string;
  /** The tip: `fetchUser` renamed to `loadUser`. */
  tip: string;
}

export async function buildSearchFixture(): Promise<SearchFixture> {
  const repo = await makeRepo();
  await repo.writeFiles(FILES);
  const old = await repo.commit('first');
  await repo.write('src/http/client.ts', FILES['src/http/client.ts']!.replace(/fetchUser/g, 'loadUser'));
  const tip = await repo.commit('rename fetchUser to loadUser');
  return { repo, old, tip };
}
