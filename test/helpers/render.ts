// Renders a FileExtraction as stable, reviewable text for golden snapshots.
import type { FileExtraction } from '../../indexer/types.ts';
import { qualify } from '../../indexer/types.ts';

export function renderExtraction(file: string, r: FileExtraction): string {
  const out: string[] = [`# ${file} (${r.language}): ${r.entities.length} entities, ${r.references.length} references, ${r.errorCount} syntax errors, ${r.lines} lines`];
  for (const [i, e] of r.entities.entries()) {
    const parent = e.parent >= 0 ? ` in #${e.parent}` : '';
    let line = `#${i} ${e.kind} ${qualify(file, e.qualifiedName)} L${e.startLine}-${e.endLine}${parent}${e.exported ? ' exported' : ''}`;
    if (e.signature !== null) line += `\n     signature: ${e.signature}`;
    if (e.doc !== null) line += `\n     doc: ${e.doc.length > 80 ? e.doc.slice(0, 77) + '...' : e.doc}`;
    out.push(line);
  }
  for (const ref of r.references) {
    let line = `  ${ref.kind} ${ref.qualifier !== null ? ref.qualifier + ' . ' : ''}${ref.name} L${ref.line} from #${ref.from}`;
    if (ref.module !== undefined) line += ` module=${ref.module}`;
    if (ref.alias !== undefined) line += ` as=${ref.alias}`;
    if (ref.binding !== undefined) line += ` binding=${ref.binding === '' ? '(local)' : ref.binding}`;
    out.push(line);
  }
  return out.join('\n') + '\n';
}
