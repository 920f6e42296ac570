// `codegraph extract <file...> [--json]`: entities and references of files on disk (no git, no store).
import fs from 'node:fs/promises';
import { Indexer, qualify } from '../../indexer/index.ts';
import type { ExtractOutcome } from '../../indexer/index.ts';
import { CliError, ExitCode, parseCommand, positiveInt } from '../cli.ts';


const USAGE = `usage: codegraph extract <file...> [--json] [--max-file-bytes N] [--parse-timeout MS]

  --json               one JSON object per file and line: {path, language, entities, references, skipped?}
  --max-file-bytes N   skip files larger than N bytes (default 2097152)
  --parse-timeout MS   per-file parse budget in milliseconds (default 10000)`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, USAGE, {
    json: { type: 'boolean', default: false },
    'max-file-bytes': { type: 'string' },
    'parse-timeout': { type: 'string' },
  });
  if (parsed === null) return ExitCode.OK;
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new CliError('USAGE', `no files given.\n${USAGE}`);
  const indexer = new Indexer({
    threads: 1,
    exclude: [],
    ...(values['max-file-bytes'] !== undefined ? { maxFileBytes: positiveInt(values['max-file-bytes'], '--max-file-bytes') } : {}),
    ...(values['parse-timeout'] !== undefined ? { parseTimeoutMs: positiveInt(values['parse-timeout'], '--parse-timeout') } : {}),
  });
  let failures = 0;
  try {
    for (const file of positionals) {
      let content: Buffer;
      try {
        content = await fs.readFile(file);
      } catch (err) {
        failures++;
        process.stderr.write(`codegraph extract: cannot read ${file}: ${(err as Error).message}\n`);
        continue;
      }
      const outcome = await indexer.extractBytes(file, content);
      process.stdout.write(values.json ? JSON.stringify(toJson(outcome)) + '\n' : toText(outcome));
    }
  } finally {
    await indexer.close();
  }
  return failures > 0 ? ExitCode.FAILURE : ExitCode.OK;
}

function toJson(o: ExtractOutcome): Record<string, unknown> {
  if (o.status === 'skipped') return { path: o.path, language: o.language, entities: [], references: [], skipped: o.reason, detail: o.detail };
  if (o.status !== 'parsed') return { path: o.path, language: o.language, entities: [], references: [] };
  const r = o.result;
  return {
    path: o.path,
    language: o.language,
    errorCount: r.errorCount,
    entities: r.entities.map((e) => ({
      kind: e.kind, name: e.kind === 'module' ? o.path : e.name, qualifiedName: qualify(o.path, e.qualifiedName),
      startLine: e.startLine, endLine: e.endLine, signature: e.signature, exported: e.exported,
      ...(e.doc !== null ? { doc: e.doc } : {}),
    })),
    references: r.references.map((ref) => ({
      kind: ref.kind, name: ref.name, line: ref.line,
      ...(ref.qualifier !== null ? { qualifier: ref.qualifier } : {}),
      ...(ref.module !== undefined ? { module: ref.module } : {}),
      ...(ref.alias !== undefined ? { alias: ref.alias } : {}),
    })),
  };
}

function toText(o: ExtractOutcome): string {
  if (o.status === 'skipped') return `${o.path}: skipped (${o.reason}): ${o.detail}\n`;
  if (o.status !== 'parsed') return `${o.path}\n`;
  const r = o.result;
  const lines = [`${o.path} (${o.language}, ${r.lines} lines, ${r.entities.length} entities, ${r.references.length} references${r.errorCount ? `, ${r.errorCount} syntax errors` : ''})`];
  for (const e of r.entities) {
    if (e.kind === 'module') continue;
    lines.push(`  ${e.kind.padEnd(11)} ${qualify(o.path, e.qualifiedName)}${e.signature ? e.signature.startsWith('(') ? e.signature : ' ' + e.signature : ''}  L${e.startLine}-${e.endLine}`);
  }
  for (const ref of r.references) {
    lines.push(`  -> ${ref.kind.padEnd(10)} ${ref.qualifier ? ref.qualifier + '.' : ''}${ref.name}${ref.module !== undefined ? ` from ${ref.module}` : ''}  L${ref.line}`);
  }
  return lines.join('\n') + '\n';
}
