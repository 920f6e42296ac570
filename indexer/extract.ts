// The generic extractor: parse one file with tree-sitter, run the language's tags.scm query, and
// turn the captures into entities (with containment, qualified names, signatures, docs, export flags
// and body hashes) and references. Runs inside worker threads; returns plain data, never trees.
//
// Nothing here recurses over the syntax tree: the query engine walks it, containment comes from a
// sort plus an explicit stack, and error counting uses a TreeCursor loop.
import { createHash } from 'node:crypto';
import { Language, Parser, Query } from 'web-tree-sitter';
import type { Node, QueryMatch, Tree } from 'web-tree-sitter';
import { CodedError } from '../errors/index.ts';
import { LANGUAGE_SPECS, grammarPath, querySource } from './languages/index.ts';
import type { LanguageSpec } from './languages/index.ts';
import { callbackParamTypes, Scopes, scopeQuerySource, selfField } from './scope.ts';
import type { ScopeCaptures } from './scope.ts';
import type { Entity, EntityKind, FileExtraction, LanguageId, Reference, ReferenceKind } from './types.ts';

/** Thrown when a file exceeds its time budget; the caller records the skip reason `parse_timeout`. */
export class ParseTimeoutError extends CodedError<'PARSE_TIMEOUT', { phase: 'parse' | 'query' | 'extract'; budgetMs: number }> {
  override name = 'ParseTimeoutError';
  constructor(readonly phase: 'parse' | 'query' | 'extract', readonly budgetMs: number) {
    super('PARSE_TIMEOUT', `tree-sitter ${phase} exceeded the per-file budget of ${budgetMs} ms; raise parseTimeoutMs (--parse-timeout) to index such files`, { phase, budgetMs });
  }
}

interface Loaded {
  spec: LanguageSpec;
  language: Language;
  /** The language's tags query, then the scope patterns (`scopeQuerySource`). */
  query: Query;
  parser: Parser;
}

let initPromise: Promise<void> | null = null;
const loaded = new Map<LanguageId, Promise<Loaded>>();

async function load(id: LanguageId): Promise<Loaded> {
  let p = loaded.get(id);
  if (!p) {
    p = (async () => {
      initPromise ??= Parser.init();
      await initPromise;
      const spec = LANGUAGE_SPECS[id];
      const language = await Language.load(grammarPath(spec));
      // Appended, so the tags patterns keep their indexes (the earlier pattern wins a node).
      const query = new Query(language, `${querySource(spec)}\n${scopeQuerySource(id, (type) => language.idForNodeType(type, true) !== null)}`);
      const parser = new Parser();
      parser.setLanguage(language);
      return { spec, language, query, parser };
    })();
    loaded.set(id, p);
  }
  return p;
}

export interface ExtractOptions {
  /** Wall-clock budget for parse + query + extraction of one file. @default 10_000 */
  timeoutMs?: number;
}

const CLASS_LIKE: ReadonlySet<EntityKind> = new Set(['class', 'interface', 'struct', 'enum', 'trait']);
const CALLABLE: ReadonlySet<EntityKind> = new Set(['function', 'method', 'constructor']);
const MAX_QUALIFIER = 200;
/** Distinct small integers per reference kind, for numeric de-duplication keys. */
const REFERENCE_KIND_CODE: Readonly<Record<ReferenceKind, number>> = { call: 0, import: 1, extends: 2, implements: 3, embeds: 4, type: 5 };
const MAX_SIGNATURE = 1000;
const MAX_DOC = 4000;

interface Def {
  kind: EntityKind;
  node: Node;
  start: number; // UTF-16 index
  end: number;
  nameNode: Node | null;
  name: string;
  params: Node | null;
  returns: Node | null;
  doc: Node | null;
  receiver: string | null;
  /** Scopes name a container (Rust `impl`, C++ `Foo::` blocks) without being an entity. */
  scope: boolean;
  pattern: number;
  parent: number; // index into defs, -1 = module
  entityIndex: number;
}

interface Ref {
  kind: ReferenceKind;
  node: Node;
  name: string;
  qualifier: string | null;
  qualifierNode: Node | null;
  module: string | undefined;
  alias: string | undefined;
  args: number | undefined;
}

/** Decodes a blob as UTF-8; invalid sequences become U+FFFD and are counted. */
function decodeUtf8(bytes: Uint8Array): { text: string; invalid: number } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes), invalid: 0 };
  } catch {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    let replaced = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0xfffd) replaced++;
    let literal = 0; // U+FFFD that was really in the file (EF BF BD)
    for (let i = 0; i + 2 < bytes.length; i++) {
      if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) literal++;
    }
    return { text, invalid: Math.max(1, replaced - literal) };
  }
}

/** Maps UTF-16 positions from web-tree-sitter to UTF-8 byte offsets, cheaply for ASCII files. */
class ByteMapper {
  private lineStartBytes: number[] | null = null;
  private lineStartUnits: number[] | null = null;
  constructor(private readonly text: string, private readonly ascii: boolean) {}

  toByte(index: number, row: number, column: number): number {
    if (this.ascii) return index;
    if (!this.lineStartBytes || !this.lineStartUnits) {
      const bytes = [0];
      const units = [0];
      let b = 0;
      for (let i = 0; i < this.text.length; i++) {
        const c = this.text.charCodeAt(i);
        if (c < 0x80) b += 1;
        else if (c < 0x800) b += 2;
        else if (c >= 0xd800 && c <= 0xdbff) { b += 4; i++; }
        else b += 3;
        if (c === 10) { bytes.push(b); units.push(i + 1); }
      }
      this.lineStartBytes = bytes;
      this.lineStartUnits = units;
    }
    const lineStart = this.lineStartUnits[row] ?? 0;
    return (this.lineStartBytes[row] ?? 0) + Buffer.byteLength(this.text.slice(lineStart, lineStart + column), 'utf8');
  }
}

const collapse = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** Token-preserving whitespace removal: keeps one space only where two word characters meet, so
 * reformatting does not change the result but `a b` and `ab` still differ. */
function squeeze(s: string): string {
  // Two native passes (no per-match callback): collapse runs to one space, then drop every space
  // that does not sit between two word characters.
  return s.replace(/\s+/g, ' ').replace(/(?<!\w) | (?!\w)/g, '');
}

/** Python keeps line structure: each LOGICAL line's indentation becomes its block depth (so
 * re-indenting with 2 instead of 4 spaces is not a change, but moving a statement out of a block
 * is); blank lines are dropped. A logical line runs on while a bracket is open, a string is open or
 * the line ends with a backslash, as Python's tokenizer joins them: re-wrapping
 * `staticmethod(\n _default\n)` onto one line is not a change (issue 11). */
function squeezeLines(s: string): string {
  const out: string[] = [];
  const widths: number[] = [];
  for (const [indent, body] of logicalLines(s)) {
    while (widths.length > 0 && widths[widths.length - 1]! > indent) widths.pop();
    if (widths.length === 0 || widths[widths.length - 1]! < indent) widths.push(indent);
    out.push(`${widths.length - 1}|${squeeze(body)}`);
  }
  return out.join('\n');
}

/** Python logical lines of `s` (comments already blanked out): [indentation of the first physical
 * line, text of the physical lines trimmed and joined by a space]. Brackets inside strings do not
 * count; a string may span lines only when triple-quoted or continued with a backslash. */
function logicalLines(s: string): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let depth = 0;
  let quote = '';
  let continued = false;
  for (const line of s.split('\n')) {
    let body = line.trim();
    const last = out[out.length - 1];
    if (continued && last) {
      if (body !== '') last[1] = last[1] === '' ? body : `${last[1]} ${body}`;
    } else if (body !== '') {
      out.push([line.length - line.trimStart().length, body]);
    }
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quote !== '') {
        if (c === '\\') i++;
        else if (line.startsWith(quote, i)) { i += quote.length - 1; quote = ''; }
        continue;
      }
      if (c === '"' || c === "'") {
        quote = line.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
        i += quote.length - 1;
      } else if (c === '(' || c === '[' || c === '{') depth++;
      else if ((c === ')' || c === ']' || c === '}') && depth > 0) depth--;
    }
    body = line.trimEnd();
    const backslash = body.endsWith('\\');
    // An unterminated one-quote string ends at the line break (a syntax error; do not run on).
    if (quote.length === 1 && !backslash) quote = '';
    continued = depth > 0 || quote !== '' || backslash;
    const cur = out[out.length - 1];
    if (backslash && quote === '' && cur?.[1].endsWith('\\')) cur[1] = cur[1].slice(0, -1).trimEnd();
  }
  return out;
}

/** Sorted, non-overlapping comment ranges (UTF-16 indices). */
interface Comments {
  starts: number[];
  ends: number[];
}

function lowerBound(arr: number[], value: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The text of [start, end) without comments and without the [cutStart, cutEnd) range (the name). */
function textWithout(source: string, start: number, end: number, comments: Comments, cutStart: number, cutEnd: number): string {
  const parts: string[] = [];
  let pos = start;
  let ci = lowerBound(comments.ends, start + 1);
  const holes: Array<[number, number]> = [];
  while (ci < comments.starts.length && comments.starts[ci]! < end) {
    holes.push([Math.max(comments.starts[ci]!, start), Math.min(comments.ends[ci]!, end)]);
    ci++;
  }
  if (cutEnd > cutStart) {
    holes.push([cutStart, cutEnd]);
    holes.sort((a, b) => a[0] - b[0]);
  }
  for (const [hs, he] of holes) {
    if (hs > pos) parts.push(source.slice(pos, hs));
    parts.push(' ');
    pos = Math.max(pos, he);
  }
  if (pos < end) parts.push(source.slice(pos, end));
  return parts.join('');
}

const SPACE = 32;
const IS_WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) IS_WORD[c] = /\w/.test(String.fromCharCode(c)) ? 1 : 0;
/** Non-ASCII whitespace, as `\s` sees it. */
function isSpace(c: number): boolean {
  return c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029 || (c >= 0x2000 && c <= 0x200a) || c === 0x3000 || c === 0x1680 || c === 0x202f || c === 0x205f;
}

/**
 * The whole file squeezed once (comments dropped, whitespace kept only between two word characters,
 * as `squeeze` does), with a map from source index to squeezed index, so each entity's body hash is
 * a slice of it instead of a squeeze of its own text: nested entities would re-squeeze the same text
 * once per level. A slice is trimmed of the space its start may inherit from the text before it, so
 * a hash depends on the entity's own text only.
 */
class Squeezed {
  private readonly out: Uint16Array;
  private readonly map: Int32Array;
  constructor(source: string, comments: Comments) {
    const n = source.length;
    const out = new Uint16Array(n);
    const map = new Int32Array(n + 1);
    let o = 0;
    let pending = false;
    let lastWord = false;
    let ci = 0;
    let nextComment = comments.starts.length > 0 ? comments.starts[0]! : n;
    for (let i = 0; i < n; i++) {
      if (i === nextComment) {
        const end = comments.ends[ci]!;
        for (; i < end; i++) map[i] = o;
        i--;
        pending = true;
        ci++;
        nextComment = ci < comments.starts.length ? comments.starts[ci]! : n;
        continue;
      }
      map[i] = o;
      const c = source.charCodeAt(i);
      let word = false;
      if (c > 32 && c < 128) word = IS_WORD[c] === 1;
      else if (c <= 32 ? c === 32 || (c >= 9 && c <= 13) : isSpace(c)) {
        pending = true;
        continue;
      }
      if (pending && lastWord && word) out[o++] = SPACE;
      pending = false;
      out[o++] = c;
      lastWord = word;
    }
    map[n] = o;
    this.out = out;
    this.map = map;
  }

  private slice(start: number, end: number): Uint8Array {
    let a = this.map[start]!;
    const b = this.map[end]!;
    if (a < b && this.out[a] === SPACE) a++;
    return new Uint8Array(this.out.buffer, a * 2, Math.max(0, b - a) * 2);
  }

  /** Hash of [start, end) with the [cutStart, cutEnd) range (the name) replaced by one space. */
  hash(start: number, end: number, cutStart: number, cutEnd: number): string {
    const h = createHash('sha1');
    if (cutEnd > cutStart) {
      h.update(this.slice(start, cutStart));
      h.update(SPACE_UTF16);
      h.update(this.slice(cutEnd, end));
    } else {
      h.update(this.slice(start, end));
    }
    return h.digest('hex').slice(0, 24);
  }
}
const SPACE_UTF16 = new Uint8Array([SPACE, 0]);

/** Python's body hash keeps line structure (see squeezeLines), so it squeezes each body itself. */
function hashLines(source: string, start: number, end: number, comments: Comments, cutStart: number, cutEnd: number): string {
  return createHash('sha1').update(squeezeLines(textWithout(source, start, end, comments, cutStart, cutEnd))).digest('hex').slice(0, 24);
}

function countErrors(tree: Tree, deadline: number, budgetMs: number): number {
  if (!tree.rootNode.hasError) return 0;
  let errors = 0;
  const cursor = tree.walk();
  let steps = 0;
  try {
    // Iterative pre-order walk; only descends into subtrees that contain errors.
    while (true) {
      const node = cursor.currentNode;
      if (node.isError || node.isMissing) errors++;
      if (node.hasError && !node.isError && cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) return errors;
      }
      if (++steps % 4096 === 0 && Date.now() > deadline) throw new ParseTimeoutError('extract', budgetMs);
    }
  } finally {
    cursor.delete();
  }
}

/** A name node that holds the parameters (a C++ conversion operator's `operator bool() const`) names
 * the entity by its text before them, whitespace collapsed: `operator bool`. */
function nameOf(name: Node, params: Node | null): string {
  if (!params || params.startIndex < name.startIndex || params.endIndex > name.endIndex) return name.text;
  return collapse(name.text.slice(0, params.startIndex - name.startIndex));
}

/** Text of a receiver/qualifier type with pointers, references and generic arguments removed. */
function bareTypeName(text: string): string {
  const t = text.replace(/^[\s(]*/, '').replace(/[\s)]*$/, '');
  // Go receivers look like `r *Foo[T]`: keep the type part. Generic arguments go first, as they
  // may hold spaces (C++ `basic_istream<_CharT, _Traits>::`, Go `*Map[K, V]`).
  const last = t.replace(/[<[].*$/s, '').trimEnd().split(/\s+/).pop() ?? t;
  return last.replace(/^[*&]+/, '').replace(/::$/, '');
}

/** The module specifier of an import. Several `@module` captures (Rust's nested `use a::{b::{c}}`)
 * are path segments, joined in document order with the language's separator. */
function modulePath(nodes: Node[], spec: LanguageSpec): string {
  if (nodes.length === 1) return nodes[0]!.text;
  const sorted = [...nodes].sort((x, y) => x.startIndex - y.startIndex);
  return sorted.filter((m, i) => i === 0 || m.startIndex !== sorted[i - 1]!.startIndex).map((m) => m.text).join(spec.pathSeparator ?? '.');
}

/** The qualifier's text; when the qualifier node contains the name (C++ `a::b::f`, captured whole
 * because the scope chain nests), only the part before the name, without the trailing `::` or `.`. */
function qualifierText(qualifier: Node, name: Node): string {
  if (name.startIndex < qualifier.startIndex || name.endIndex > qualifier.endIndex) return qualifier.text;
  return qualifier.text.slice(0, name.startIndex - qualifier.startIndex).replace(/\s*(::|\.|->)\s*$/, '');
}

/** Extracts entities and references from one file. Throws ParseTimeoutError past the budget. */
export async function extract(language: LanguageId, bytes: Uint8Array, options: ExtractOptions = {}): Promise<FileExtraction> {
  const budgetMs = options.timeoutMs ?? 10_000;
  const { spec, query, parser } = await load(language);
  const { text: source, invalid } = decodeUtf8(bytes);
  const deadline = Date.now() + budgetMs;
  const cancelled = (): boolean => Date.now() > deadline;

  parser.reset();
  // spec.preprocess (C++ macros) changes what the parser reads, never a length or a line break. The
  // tree reads node texts through the same callback, which serves the original text once the parse
  // is done: names, signatures and queries' text predicates see the user's code.
  let input = spec.preprocess ? spec.preprocess(source) : source;
  if (input.length !== source.length) throw new Error(`${spec.id} preprocess changed the text's length; it must only replace characters`);
  const tree = input === source
    ? parser.parse(source, null, { progressCallback: cancelled as unknown as () => void })
    : parser.parse((index: number) => input.slice(index), null, { progressCallback: cancelled as unknown as () => void });
  input = source;
  if (!tree) throw new ParseTimeoutError('parse', budgetMs);
  try {
    // The query runs once per top-level node rather than once on the root: tree-sitter's query
    // cursor is quadratic in the number of siblings under some error-recovered roots (100k unclosed
    // `(` took minutes), and per-child runs are linear and no slower on ordinary files.
    const matches: QueryMatch[] = [];
    let timedOut = false;
    const queryOptions = { progressCallback: (() => (timedOut = cancelled())) as unknown as () => void };
    const cursor = tree.walk();
    try {
      if (cursor.gotoFirstChild()) {
        do {
          const found = query.matches(cursor.currentNode, queryOptions);
          if (timedOut) throw new ParseTimeoutError('query', budgetMs);
          for (const m of found) matches.push(m);
        } while (cursor.gotoNextSibling());
      }
    } finally {
      cursor.delete();
    }
    return build(spec, source, bytes.length, invalid, tree, matches, deadline, budgetMs);
  } finally {
    tree.delete();
  }
}

function build(
  spec: LanguageSpec, source: string, byteLength: number, invalid: number, tree: Tree,
  matches: QueryMatch[], deadline: number, budgetMs: number,
): FileExtraction {
  // In phases, each its own function: the optimizing compiler recompiles only the phase whose
  // assumptions a file breaks (one function of them all was recompiled ~10 times per worker at
  // ~40-170 ms each: half the compiler's time in a first index, #9).
  const bytes = new ByteMapper(source, byteLength === source.length);
  const { defs, refs, comments, commentNodes, scopeNodes } = collectMatches(spec, source.length, matches, deadline, budgetMs);
  let squeezed: Squeezed | null = null;
  const bodyHash: BodyHash = (start, end, cutStart, cutEnd) => {
    if (spec.lineSensitive) return hashLines(source, start, end, comments, cutStart, cutEnd);
    squeezed ??= new Squeezed(source, comments);
    return squeezed.hash(start, end, cutStart, cutEnd);
  };
  const order = nest(defs);
  const lines = lineCount(source);
  const entities: Entity[] = [{
    kind: 'module', name: '', qualifiedName: '', parent: -1,
    startLine: 1, endLine: Math.max(1, lines), startByte: 0, endByte: byteLength,
    signature: null, doc: fileDoc(commentNodes, source, spec.id === 'python' ? tree.rootNode : null),
    exported: true,
    bodyHash: bodyHash(0, source.length, 0, 0),
  }];
  const { qualified, paramsOf } = defineEntities({ spec, source, bytes, defs, comments, commentNodes, bodyHash, deadline, budgetMs }, order, entities);
  mergeSignatures(entities, defs);
  const scopes = new Scopes(spec.id, scopeNodes);
  const references = attributeReferences(defs, order, qualified, entities, refs, scopes);
  typeFacts(defs, scopes, references);
  if (spec.id === 'java' || spec.id === 'cpp') disambiguateOverloads(entities, paramsOf, spec.id);

  return {
    language: spec.id,
    entities,
    references,
    errorCount: countErrors(tree, deadline, budgetMs),
    lines,
    bytes: byteLength,
    invalidUtf8: invalid,
  };
}

type BodyHash = (start: number, end: number, cutStart: number, cutEnd: number) => string;

/** The lines of a text: a last line without a line break counts, an empty text has none. */
function lineCount(source: string): number {
  if (source.length === 0) return 0;
  let n = 1;
  for (let at = source.indexOf('\n'); at >= 0; at = source.indexOf('\n', at + 1)) n++;
  return source.charCodeAt(source.length - 1) === 10 ? n - 1 : n;
}

/** The query's matches sorted into definitions (and scopes), references, comments and the scope
 * captures, one per range: the highest-priority pattern wins a range two patterns define. */
function collectMatches(spec: LanguageSpec, length: number, matches: QueryMatch[], deadline: number, budgetMs: number): {
  defs: Def[]; refs: Ref[]; comments: Comments; commentNodes: Node[]; scopeNodes: ScopeCaptures;
} {
  const commentStarts: number[] = [];
  const commentEnds: number[] = [];
  const commentNodes: Node[] = [];
  const defs: Def[] = [];
  // Range keys as numbers (a start/end pair packs exactly below 2^53 for files under 94M characters).
  const span = length + 1;
  const rangeKey: (start: number, end: number) => number | string = span < 94_000_000
    ? (start, end) => start * span + end
    : (start, end) => `${start}:${end}`;
  const defByRange = new Map<number | string, number>();
  const refs: Ref[] = [];
  /** Java and C++ overload by parameter list: their overloads are named by it and their calls count arguments. */
  const overloads = spec.id === 'java' || spec.id === 'cpp';
  const refSeen = new Set<number | string>();
  const scopeNodes: ScopeCaptures = { functions: [], decls: [] };

  let n = 0;
  for (const match of matches) {
    if (++n % 2048 === 0 && Date.now() > deadline) throw new ParseTimeoutError('extract', budgetMs);
    let main: { role: string; node: Node } | null = null;
    let nameNode: Node | null = null;
    let params: Node | null = null;
    let returns: Node | null = null;
    let doc: Node | null = null;
    let qualifier: Node | null = null;
    const moduleNodes: Node[] = [];
    let alias: Node | null = null;
    let receiver: Node | null = null;
    let scopeName: Node | null = null;
    const first = match.captures[0];
    if (first !== undefined && match.captures.length === 1) {
      // The scope patterns capture one node each (indexer/scope.ts).
      if (first.name === 'local.function') { scopeNodes.functions.push(first.node); continue; }
      if (first.name === 'local.declaration') { scopeNodes.decls.push(first.node); continue; }
    }
    for (const cap of match.captures) {
      switch (cap.name) {
        case 'name': nameNode = cap.node; break;
        case 'params': params = cap.node; break;
        case 'returns': returns = cap.node; break;
        case 'doc': doc = cap.node; break;
        case 'qualifier': qualifier = cap.node; break;
        case 'module': moduleNodes.push(cap.node); break;
        case 'alias': alias = cap.node; break;
        case 'receiver': receiver = cap.node; break;
        case 'scope.name': scopeName = cap.node; break;
        case 'comment':
        case 'scope':
          main = { role: cap.name, node: cap.node };
          break;
        default:
          if (cap.name.startsWith('definition.') || cap.name.startsWith('reference.')) main = { role: cap.name, node: cap.node };
      }
    }
    if (!main) continue;
    const node = main.node;
    if (main.role === 'comment') {
      // Comments arrive in document order; nested comment captures do not occur.
      if (commentEnds.length === 0 || node.startIndex >= commentEnds[commentEnds.length - 1]!) {
        commentStarts.push(node.startIndex);
        commentEnds.push(node.endIndex);
        commentNodes.push(node);
      }
      continue;
    }
    if (main.role === 'scope' || main.role.startsWith('definition.')) {
      const nodeEnd = node.endIndex;
      const key = rangeKey(node.startIndex, nodeEnd);
      const existing = defByRange.get(key);
      if (existing !== undefined && defs[existing]!.pattern <= match.patternIndex) continue;
      const isScope = main.role === 'scope';
      const nameText = isScope ? (scopeName ? bareTypeName(scopeName.text) : '') : nameNode ? nameOf(nameNode, params) : '';
      if (!isScope && nameText === '') continue;
      const def: Def = {
        kind: isScope ? 'namespace' : (main.role.slice('definition.'.length) as EntityKind),
        node, start: node.startIndex, end: nodeEnd,
        nameNode: isScope ? null : nameNode, name: nameText,
        params, returns, doc,
        receiver: receiver ? bareTypeName(receiver.text) : null,
        scope: isScope, pattern: match.patternIndex, parent: -1, entityIndex: -1,
      };
      if (existing !== undefined) defs[existing] = def;
      else {
        defByRange.set(key, defs.length);
        defs.push(def);
      }
      continue;
    }
    // reference.*
    if (!nameNode) continue;
    const kind = main.role.slice('reference.'.length) as ReferenceKind;
    const key = alias === null ? nameNode.startIndex * 8 + REFERENCE_KIND_CODE[kind] : `${kind}:${nameNode.startIndex}:${alias.startIndex}`;
    if (refSeen.has(key)) continue;
    refSeen.add(key);
    const q = qualifier ? collapse(qualifierText(qualifier, nameNode)) : null;
    // `(#set! name "*")` names what the syntax does not spell out (namespace and default imports).
    const fixedName = match.setProperties?.['name'];
    refs.push({
      kind, node: nameNode,
      name: fixedName ?? (kind === 'import' ? nameNode.text : bareTypeName(nameNode.text) || nameNode.text),
      qualifier: q === null ? null : q.length > MAX_QUALIFIER ? q.slice(0, MAX_QUALIFIER) : q,
      qualifierNode: qualifier,
      module: moduleNodes.length === 0 ? undefined : modulePath(moduleNodes, spec),
      alias: alias ? alias.text : undefined,
      args: kind === 'call' && overloads ? argumentCount(main.node) : undefined,
    });
  }
  return { defs, refs, comments: { starts: commentStarts, ends: commentEnds }, commentNodes, scopeNodes };
}

/** Containment: each definition's parent, the innermost definition around it; returns the
 * definitions' indexes by start ascending, end descending (an explicit stack of open ranges). */
function nest(defs: Def[]): number[] {
  const order = defs.map((_, i) => i).sort((a, b) => defs[a]!.start - defs[b]!.start || defs[b]!.end - defs[a]!.end || defs[a]!.pattern - defs[b]!.pattern);
  const stack: number[] = [];
  for (const i of order) {
    const d = defs[i]!;
    while (stack.length > 0 && defs[stack[stack.length - 1]!]!.end < d.end) stack.pop();
    while (stack.length > 0 && defs[stack[stack.length - 1]!]!.end <= d.start) stack.pop();
    d.parent = stack.length > 0 ? stack[stack.length - 1]! : -1;
    stack.push(i);
  }
  return order;
}

interface FileParts {
  spec: LanguageSpec; source: string; bytes: ByteMapper; defs: Def[]; comments: Comments; commentNodes: Node[];
  bodyHash: BodyHash; deadline: number; budgetMs: number;
}

/** The entities of the definitions, outermost first, appended to `entities` (the module is the
 * first); returns each definition's qualified name (a local's is its container's) and the
 * parameter list of each callable entity. */
function defineEntities(file: FileParts, order: number[], entities: Entity[]): { qualified: Map<number, string>; paramsOf: Map<number, Node> } {
  const { spec, source, bytes, defs, comments, commentNodes, bodyHash, deadline, budgetMs } = file;
  const qualified = new Map<number, string>();
  const stubs = overloadStubs(defs);
  const entityKindOf = (defIndex: number): EntityKind => {
    let p = defIndex;
    while (p >= 0 && defs[p]!.scope) p = defs[p]!.parent;
    return p < 0 ? 'module' : defs[p]!.kind;
  };

  const mergeTarget = new Map<string, number>();
  /** The parameter list of each callable entity (overloads, below). */
  const paramsOf = new Map<number, Node>();
  for (const i of order) {
    if (Date.now() > deadline) throw new ParseTimeoutError('extract', budgetMs);
    const d = defs[i]!;
    const parentQn = d.parent >= 0 ? qualified.get(d.parent) ?? '' : '';
    const parentDef = d.parent >= 0 ? defs[d.parent]! : null;
    // Kind adjustments that depend on the container.
    let kind = d.kind;
    const containerKind = entityKindOf(d.parent);
    const inScope = parentDef !== null && parentDef.scope;
    if (kind === 'function' && (CLASS_LIKE.has(containerKind) || inScope || d.receiver !== null)) kind = 'method';
    if (kind === 'method' && spec.constructorNames?.has(d.name)) kind = 'constructor';
    if (kind === 'method' && (spec.id === 'cpp') && (d.name === (d.receiver ?? (parentDef?.name ?? '')))) kind = 'constructor';
    const memberConstant = kind === 'constant' && spec.memberConstants === true && CLASS_LIKE.has(containerKind);
    // A CommonJS binding (`const m = require('m')`, an import) is a declarator: local like a variable.
    const binding = kind === 'variable' || kind === 'constant' || (kind === 'import' && d.node.type === 'variable_declarator');
    if (binding && ((containerKind !== 'module' && containerKind !== 'namespace' && !memberConstant) || inLocalScope(d, parentDef, spec))) {
      // Locals and fields are not module-level variables; still name containers for nested defs.
      qualified.set(i, parentQn);
      continue;
    }
    const prefix = d.receiver ? (parentQn ? `${parentQn}.${d.receiver}` : d.receiver) : parentQn;
    const qn = prefix ? `${prefix}.${d.name}` : d.name;
    qualified.set(i, qn);
    if (d.scope || stubs.has(i)) continue;
    // Declaration merging (issue 10): a second `interface A {}` block, or a method signature an
    // interface (or a merged block) declares again, is the same entity as the first one, so its
    // qualified name and id stay unique; its members and references belong to the first.
    const merged = mergeTarget.get(`${kind}\0${qn}`);
    if (merged !== undefined && (kind === 'interface' || (kind === 'method' && isSignature(d.node) && isSignature(defs[merged]!.node)))) {
      const first = defs[merged]!;
      d.entityIndex = first.entityIndex;
      // Overload signatures in the same body (`fetch(a: A): R; fetch(b: B): R;`): the entity spans
      // them all, so its lines cover every overload and its body hash sees an edit to any of them.
      // A method declared again in another merged block is elsewhere; it keeps the first span.
      if (kind === 'method' && d.node.parent !== null && first.node.parent !== null && d.node.parent.id === first.node.parent.id) {
        const e = entities[first.entityIndex]!;
        const ep = d.node.endPosition;
        e.endLine = ep.row + 1;
        e.endByte = bytes.toByte(d.end, ep.row, ep.column);
        const cut = first.nameNode && first.nameNode.startIndex >= first.start && first.nameNode.endIndex <= first.end;
        e.bodyHash = cut ? bodyHash(first.start, d.end, first.nameNode!.startIndex, first.nameNode!.endIndex) : bodyHash(first.start, d.end, 0, 0);
      }
      continue;
    }
    mergeTarget.set(`${kind}\0${qn}`, i);

    // Parent entity: nearest non-scope ancestor that became an entity.
    let p = d.parent;
    while (p >= 0 && defs[p]!.entityIndex < 0) p = defs[p]!.parent;
    const parentEntity = p >= 0 ? defs[p]!.entityIndex : 0;

    const outer: Node[] = [d.node];
    let up = d.node.parent;
    while (up && spec.wrapperTypes.has(up.type) && up.startIndex <= d.start && up.endIndex >= d.end) {
      outer.push(up);
      up = up.parent;
    }
    const sp = d.node.startPosition;
    const ep = d.node.endPosition;
    const nameCut = d.nameNode && d.nameNode.startIndex >= d.start && d.nameNode.endIndex <= d.end;
    let signature: string | null = null;
    if (CALLABLE.has(kind) && d.params) {
      signature = collapse(d.params.text);
      if (d.returns) {
        signature = d.returns.startIndex >= d.params.endIndex
          ? collapse(source.slice(d.params.startIndex, d.returns.endIndex))
          : `${collapse(d.returns.text)} ${signature}`;
      }
      if (signature.length > MAX_SIGNATURE) signature = signature.slice(0, MAX_SIGNATURE);
    }
    let doc = kind === 'import' ? null : d.doc ? collapse(d.doc.text) : docAbove(outer, spec, comments, commentNodes, source);
    if (doc !== null && doc.length > MAX_DOC) doc = doc.slice(0, MAX_DOC);
    const entity: Entity = {
      kind, name: d.name, qualifiedName: qn, parent: parentEntity,
      // A node that ends at column 0 took the line break with it (C preprocessor lines).
      startLine: sp.row + 1, endLine: ep.row > sp.row && ep.column === 0 ? ep.row : ep.row + 1,
      startByte: bytes.toByte(d.start, sp.row, sp.column),
      endByte: bytes.toByte(d.end, ep.row, ep.column),
      signature, doc,
      exported: spec.exported({ node: d.node, outer, kind, name: d.name, parentKind: entities[parentEntity]!.kind, source }),
      bodyHash: nameCut ? bodyHash(d.start, d.end, d.nameNode!.startIndex, d.nameNode!.endIndex) : bodyHash(d.start, d.end, 0, 0),
    };
    d.entityIndex = entities.length;
    entities.push(entity);
    if (d.params && CALLABLE.has(kind)) paramsOf.set(d.entityIndex, d.params);
  }
  return { qualified, paramsOf };
}

/** Each reference attributed to the innermost entity around it (a second sweep in document order),
 * with the local binding a call's name resolves to. */
function attributeReferences(defs: Def[], order: number[], qualified: Map<number, string>, entities: Entity[], refs: Ref[], scopes: Scopes): Reference[] {
  // A reference in a scope but in none of its entities (`impl Trait for Foo`, the `implements`
  // reference) belongs to the class-like entity the scope names, when the file defines it.
  const ownerByName = new Map<string, number>();
  for (const [ei, e] of entities.entries()) {
    if (CLASS_LIKE.has(e.kind) && !ownerByName.has(e.qualifiedName)) ownerByName.set(e.qualifiedName, ei);
  }
  const fromOf = new Map<number, number>();
  for (const i of order) {
    const d = defs[i]!;
    const owner = d.entityIndex >= 0 ? d.entityIndex : d.scope ? ownerByName.get(qualified.get(i) ?? '') : undefined;
    if (owner !== undefined) fromOf.set(i, owner);
  }
  const entityOrder = order.filter((i) => fromOf.has(i));
  refs.sort((a, b) => a.node.startIndex - b.node.startIndex);
  const references: Reference[] = [];
  const open: number[] = [];
  let next = 0;
  for (const r of refs) {
    const at = r.node.startIndex;
    while (next < entityOrder.length && defs[entityOrder[next]!]!.start <= at) {
      const di = entityOrder[next++]!;
      while (open.length > 0 && defs[open[open.length - 1]!]!.end <= defs[di]!.start) open.pop();
      open.push(di);
    }
    while (open.length > 0 && defs[open[open.length - 1]!]!.end <= at) open.pop();
    const from = open.length > 0 ? fromOf.get(open[open.length - 1]!)! : 0;
    const ref: Reference = { kind: r.kind, name: r.name, qualifier: r.qualifier, line: r.node.startPosition.row + 1, from };
    if (r.module !== undefined) ref.module = r.module;
    if (r.alias !== undefined) ref.alias = r.alias;
    if (r.args !== undefined) ref.args = r.args;
    if (r.kind === 'call') {
      const binding = callBinding(r, scopes);
      if (binding !== undefined) ref.binding = binding;
    }
    references.push(ref);
  }
  return references;
}

/** Overload signatures that an implementation of the same name in the same container follows
 * (TypeScript `function f(x: string): string;` before `function f(x) {...}`, Python `@overload`
 * stubs before the implementation): the overload set is ONE entity, the implementation, so its
 * qualified name is unique, its callees are the implementation's, and history pairs it across the
 * commit that adds overloads (issues 10 and 11). */
function overloadStubs(defs: Def[]): Set<number> {
  const groups = new Map<string, number[]>();
  for (const [i, d] of defs.entries()) {
    if (d.scope || (d.kind !== 'function' && d.kind !== 'method')) continue;
    const key = `${d.parent}\0${d.receiver ?? ''}\0${d.name}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  }
  const out = new Set<number>();
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    const stub = g.filter((i) => isOverloadStub(defs[i]!.node));
    if (stub.length > 0 && stub.length < g.length) for (const i of stub) out.add(i);
  }
  return out;
}

/** An interface merged with a class of the same name (`interface X { run(): void }` beside `class
 * X { run() {...} }`) declares the class's members again: each such method signature is the same
 * entity as the implementation (issue 10: unique ids), so it is dropped and its references go to
 * the implementation. Indexes are renumbered in place (before references are attributed). */
function mergeSignatures(entities: Entity[], defs: Def[]): void {
  const impl = new Map<string, number>();
  for (const d of defs) {
    const e = d.entityIndex >= 0 ? entities[d.entityIndex] : undefined;
    if (e && e.kind === 'method' && !isSignature(d.node)) impl.set(e.qualifiedName, d.entityIndex);
  }
  const drop = new Map<number, number>();
  for (const d of defs) {
    const e = d.entityIndex >= 0 ? entities[d.entityIndex] : undefined;
    const kept = e && e.kind === 'method' && isSignature(d.node) ? impl.get(e.qualifiedName) : undefined;
    if (kept !== undefined && kept !== d.entityIndex) drop.set(d.entityIndex, kept);
  }
  if (drop.size === 0) return;
  const renumber: number[] = [];
  let n = 0;
  for (let i = 0; i < entities.length; i++) renumber.push(drop.has(i) ? -1 : n++);
  for (const [i, kept] of drop) renumber[i] = renumber[kept]!;
  const out = entities.filter((_, i) => !drop.has(i)).map((e) => (e.parent >= 0 ? { ...e, parent: renumber[e.parent]! } : e));
  entities.length = 0;
  entities.push(...out);
  for (const d of defs) if (d.entityIndex >= 0) d.entityIndex = renumber[d.entityIndex]!;
}

/** A bodiless method declaration (interface member, abstract or overload signature). */
function isSignature(node: Node): boolean {
  return node.type === 'method_signature' || node.type === 'abstract_method_signature' || node.type === 'property_signature';
}

function isOverloadStub(node: Node): boolean {
  if (node.type === 'function_signature' || node.type === 'method_signature') return true;
  if (node.type !== 'function_definition') return false;
  const wrapper = node.parent;
  if (!wrapper || wrapper.type !== 'decorated_definition') return false;
  return wrapper.namedChildren.some((c) => c !== null && c.type === 'decorator' && /^@\s*(typing\.)?overload\s*$/.test(c.text));
}

/** Records `type` references (issue 10): what each function or method returns, the type of each
 * module-level variable, and each class's field types, as type expressions (indexer/scope.ts) the
 * resolver evaluates across files to type receivers such as `makeStore().get()` or
 * `this.#client.getQueryCache().build()`. */
function typeFacts(defs: Def[], scopes: Scopes, out: Reference[]): void {
  for (const d of defs) {
    if (d.entityIndex < 0) continue;
    const line = d.node.startPosition.row + 1;
    const fact = (name: string, qualifier: string | null): void => {
      if (name !== '') out.push({ kind: 'type', name, qualifier, line, from: d.entityIndex });
    };
    switch (d.kind) {
      case 'function':
      case 'method': {
        // `const f = (): Foo => ...` and `m = () => ...`: the arrow is the declaration's value.
        const fn = d.node.childForFieldName('body') ? d.node : d.node.childForFieldName('value');
        if (fn) {
          fact(scopes.returnType(fn, d.returns), null);
          for (const [i, k, type] of callbackParamTypes(fn)) fact(type, `(${i}:${k})`);
        }
        break;
      }
      case 'constructor':
        for (const [i, k, type] of callbackParamTypes(d.node)) fact(type, `(${i}:${k})`);
        break;
      case 'constant':
      case 'variable':
        fact(scopes.declaredType(d.node), null);
        break;
      case 'class':
      case 'struct':
        if (scopes.isClass(d.node)) for (const [field, type] of scopes.fieldTypes(d.node)) fact(type, field);
        break;
    }
  }
}

/** The local binding a call's receiver (`x` of `x.m()`) or bare callee (`f` of `f()`) has, if any:
 * what the resolver needs to let locals shadow definitions and to use a receiver's type. */
function callBinding(r: Ref, scopes: Scopes): string | undefined {
  const q = r.qualifierNode;
  if (q === null) return scopes.lookup(r.node, r.name);
  if (q.type === 'identifier' && !RECEIVER_KEYWORDS.has(q.text)) return scopes.lookup(q, q.text) ?? scopes.implicitField(q, q.text);
  if (RECEIVER_KEYWORDS.has(q.text)) return undefined;
  // `this.x.m()`: the field's declared or constructed type; `a.b().c()`, `(x as Foo).m()`: the
  // receiver's type expression, for the resolver to evaluate.
  const field = selfField(q);
  const t = (field === null ? undefined : scopes.fieldType(q, field)) ?? scopes.exprType(q);
  return t === '' ? undefined : t;
}
const RECEIVER_KEYWORDS = new Set(['this', 'self', 'super', 'cls']);

/** Java and C++ overloads (issue 10): callables of one container and name with different parameter
 * types are different entities, so each gets its parameter types in its qualified name, as javadoc
 * and C++ tools name them (`Shape.area(double)`, `n.B.f(const std::string&,int)`); nested entities
 * follow. A name with one parameter list (a C++ declaration and its definition in one file, the
 * only overload left) keeps its plain qualified name, so history is unchanged until a second
 * overload appears. Types are read without parameter names, default values, Java modifiers and
 * package qualifiers, and whitespace is normalised: renaming a parameter or reformatting keeps the name. */
function disambiguateOverloads(entities: Entity[], paramsOf: Map<number, Node>, lang: 'java' | 'cpp'): void {
  const groups = new Map<string, number[]>();
  for (const [i, e] of entities.entries()) {
    if (!paramsOf.has(i)) continue;
    const g = groups.get(e.qualifiedName);
    if (g) g.push(i);
    else groups.set(e.qualifiedName, [i]);
  }
  const renamed = new Map<number, { from: string; to: string }>();
  for (const [qn, members] of groups) {
    if (members.length < 2) continue;
    const types = members.map((i) => parameterTypes(paramsOf.get(i)!, lang));
    if (new Set(types).size < 2) continue;
    for (const [k, i] of members.entries()) {
      const to = `${qn}(${types[k]!})`;
      renamed.set(i, { from: qn, to });
      entities[i]!.qualifiedName = to;
    }
  }
  if (renamed.size === 0) return;
  // Entities come in document order, so a parent is renamed before its children.
  for (const [i, e] of entities.entries()) {
    const up = renamed.get(e.parent);
    if (!up || renamed.has(i) || !e.qualifiedName.startsWith(`${up.from}.`)) continue;
    const to = up.to + e.qualifiedName.slice(up.from.length);
    renamed.set(i, { from: e.qualifiedName, to });
    e.qualifiedName = to;
  }
}

/** `int,const std::string&` for C++ `(int x, const std::string &s = "")`; `List<String>,String...`
 * for Java `(final java.util.List<String> xs, String... rest)`. */
function parameterTypes(params: Node, lang: 'java' | 'cpp'): string {
  const out: string[] = [];
  for (const p of params.namedChildren) {
    if (!p || p.type === 'comment' || p.type === 'receiver_parameter') continue;
    const cut: Array<[number, number]> = [];
    if (lang === 'java') {
      for (const c of p.namedChildren) if (c && c.type === 'modifiers') cut.push([c.startIndex, c.endIndex]);
      const name = p.childForFieldName('name') ?? p.namedChildren.find((c) => c?.type === 'variable_declarator')?.childForFieldName('name') ?? null;
      if (name) cut.push([name.startIndex, name.endIndex]);
    } else {
      const dv = p.childForFieldName('default_value');
      if (dv) {
        // `= value`: from the end of the declarator (or the type) to the end of the value.
        const before = p.childForFieldName('declarator') ?? p.childForFieldName('type');
        cut.push([before ? before.endIndex : dv.startIndex, dv.endIndex]);
      }
      let dcl = p.childForFieldName('declarator');
      while (dcl && dcl.type !== 'identifier') dcl = dcl.childForFieldName('declarator') ?? dcl.namedChildren.find((c) => c?.type === 'identifier') ?? null;
      if (dcl) cut.push([dcl.startIndex, dcl.endIndex]);
    }
    cut.sort((a, b) => a[0] - b[0]);
    let text = '';
    let at = p.startIndex;
    for (const [a, b] of cut) {
      if (a < at) continue;
      text += sliceOf(p, at, a);
      at = b;
    }
    text += sliceOf(p, at, p.endIndex);
    let t = squeeze(text);
    if (lang === 'java') t = t.replace(/\b(?:[A-Za-z_$][\w$]*\.)+(?=[A-Za-z_$])/g, '');
    out.push(t);
  }
  return out.join(',');
}

/** The number of arguments of a call node (its `arguments` list: Java method invocations, object
 * creations and `super(...)`, C++ calls and `new`), or undefined when it has none to count. */
function argumentCount(call: Node): number | undefined {
  const list = call.childForFieldName('arguments');
  if (!list) return undefined;
  let n = 0;
  for (const c of list.namedChildren) if (c && c.type !== 'comment') n++;
  return n;
}

/** The text of `node` between the source offsets `from` and `to` (inside it). */
function sliceOf(node: Node, from: number, to: number): string {
  return node.text.slice(from - node.startIndex, to - node.startIndex);
}

/** A file's doc: a Python module docstring, or the comment block the file starts with. */
function fileDoc(nodes: Node[], source: string, pythonRoot: Node | null): string | null {
  if (pythonRoot) {
    const first = pythonRoot.firstNamedChild;
    if (first && first.type === 'expression_statement' && first.firstNamedChild?.type === 'string') {
      return collapse(first.firstNamedChild.text).slice(0, MAX_DOC);
    }
  }
  const first = nodes[0];
  if (!first) return null;
  const before = source.slice(0, first.startIndex).replace(/^#![^\n]*\n/, '');
  if (/\S/.test(before)) return null;
  const parts = [first.text];
  for (let i = 1; i < nodes.length; i++) {
    const c = nodes[i]!;
    if (/\S/.test(source.slice(nodes[i - 1]!.endIndex, c.startIndex)) || c.startPosition.row - nodes[i - 1]!.endPosition.row > 1) break;
    parts.push(c.text);
  }
  return collapse(parts.join('\n')).slice(0, MAX_DOC);
}

/** The doc of a definition: the comment block above the innermost of its wrapper nodes that has one
 * (a Go `const (...)` group member's own comment, else the group's), looking past attached siblings
 * such as Rust `#[attr]` lines. */
function docAbove(outer: Node[], spec: LanguageSpec, comments: Comments, nodes: Node[], source: string): string | null {
  for (const [k, n] of outer.entries()) {
    let anchor = n;
    if (k === outer.length - 1 && spec.attachedSiblingTypes) {
      for (let prev = anchor.previousSibling; prev && spec.attachedSiblingTypes.has(prev.type); prev = prev.previousSibling) anchor = prev;
    }
    const doc = leadingDoc(anchor, comments, nodes, source);
    if (doc !== null) return doc;
  }
  return null;
}

/** True when a node with a local-scope type (an anonymous function, a closure) lies between the
 * definition and its container: the definition is a local. */
function inLocalScope(d: Def, container: Def | null, spec: LanguageSpec): boolean {
  const scopes = spec.localScopeTypes;
  if (!scopes) return false;
  const stop = container?.node ?? null;
  for (let n = d.node.parent; n !== null; n = n.parent) {
    if (stop !== null && n.startIndex === stop.startIndex && n.endIndex === stop.endIndex && n.type === stop.type) return false;
    if (scopes.has(n.type)) return true;
  }
  return false;
}

/** The comment block directly above `node` (no blank line between, nothing else on those lines). */
function leadingDoc(node: Node | null, comments: Comments, nodes: Node[], source: string): string | null {
  if (!node) return null;
  let ci = lowerBound(comments.ends, node.startIndex + 1) - 1;
  const parts: string[] = [];
  let boundary = node.startIndex;
  let boundaryRow = node.startPosition.row;
  while (ci >= 0) {
    const c = nodes[ci]!;
    if (c.endIndex > boundary) { ci--; continue; }
    const between = source.slice(c.endIndex, boundary);
    if (/\S/.test(between)) break;
    if (boundaryRow - c.endPosition.row > 1) break;
    // The comment must start its own line (not trail code).
    const lineStart = source.lastIndexOf('\n', c.startIndex - 1) + 1;
    if (/\S/.test(source.slice(lineStart, c.startIndex))) break;
    parts.unshift(c.text);
    boundary = c.startIndex;
    boundaryRow = c.startPosition.row;
    ci--;
  }
  if (parts.length === 0) return null;
  return collapse(parts.join('\n'));
}
