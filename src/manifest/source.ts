/**
 * Reading a manifest's YAML (or JSON) while keeping where every value came from, so that each
 * issue can point at a line and column.
 */
import { CST, isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, parseDocument, visit, type Document, type ParsedNode, type YAMLError } from 'yaml';
import type { ManifestIssue } from '../errors/index.js';
import { formatPath, type Path } from './path.js';

/** A 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** A parsed manifest file: its plain data and the positions of its values. */
export interface SourceDocument {
  file: string;
  /** The file as plain JSON-like data (`undefined` for an empty file). */
  data: unknown;
  /** YAML syntax errors; when there are any, `data` is not worth validating. */
  syntaxIssues: ManifestIssue[];
  /**
   * Where the value at `path` is. `key` asks for the key that names it; a block mapping or
   * sequence is also reported at its key, the line a person reads as "this field". A path that
   * does not exist falls back to its nearest existing ancestor.
   */
  at(path: Path, part?: 'key' | 'value'): Position;
  /**
   * Where character `index` of the string at `path` is, when the string's source text maps
   * one-to-one onto its value (plain or quoted on one line, no escapes); else where the string is.
   */
  atChar(path: Path, index: number): Position;
}

interface Entry {
  key?: ParsedNode;
  value?: ParsedNode;
}

/** Advice for the YAML mistakes people make most in manifests. */
function hint(code: string, source: string, offset: number): string {
  if (code === 'TAB_AS_INDENT') return '; indent with spaces';
  const lineStart = source.lastIndexOf('\n', offset - 1) + 1;
  const lineEnd = source.indexOf('\n', offset);
  const line = source.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  // `: `, ` #`, `{`, `}`, `,` inside an unquoted expression read as YAML syntax.
  if (line.includes('${')) return '; put a value holding "${...}" in quotes, e.g. "${params.x}"';
  return '';
}

/**
 * Deepest nesting of collections a manifest may have. Real manifests nest about 10 deep; the YAML
 * parser recurses once per level, and past a few thousand levels it exhausts the stack or the heap.
 */
export const MAX_MANIFEST_DEPTH = 64;
/** Most aliases a manifest may expand (a "billion laughs" alias bomb expands exponentially). */
export const MAX_MANIFEST_ALIASES = 100;

/**
 * The offset where the text's collections first nest deeper than `max`, or `undefined`. Run on
 * YAML's own tokens before the parser builds anything: flow collections (`[`, `{`) counted
 * exactly, block collections by indentation (a compact `- - x` counting each dash).
 */
export function tooDeepAt(source: string, max: number): number | undefined {
  const blocks: number[] = [];
  let flow = 0;
  let offset = 0;
  let lineStart = true;
  let indent = 0;
  let dashes = 0;
  let scalar = false;
  for (const token of new Lexer().lex(source)) {
    const at = offset;
    offset += token.length;
    if (scalar) {
      // The text after a scalar marker is the scalar's content, brackets included.
      scalar = false;
      continue;
    }
    const type = CST.tokenType(token);
    if (type === 'newline') {
      lineStart = true;
      indent = 0;
      dashes = 0;
      continue;
    }
    if (type === 'space' && lineStart) {
      indent = token.length;
      continue;
    }
    if (type === 'space' || type === 'comment' || type === 'byte-order-mark' || type === 'doc-mode') continue;
    if (type === 'scalar') scalar = true;
    if (lineStart && flow === 0) {
      while (blocks.length > 0 && (blocks.at(-1) ?? 0) > indent) blocks.pop();
      if (blocks.at(-1) !== indent) blocks.push(indent);
    }
    lineStart = false;
    if (type === 'seq-item-ind' && flow === 0) dashes += 1;
    if (type === 'flow-seq-start' || type === 'flow-map-start') flow += 1;
    if ((type === 'flow-seq-end' || type === 'flow-map-end') && flow > 0) flow -= 1;
    if (type === 'doc-start') blocks.length = 0;
    if (blocks.length + Math.max(0, dashes - 1) + flow > max) return at;
  }
  return undefined;
}

/** Parses YAML (JSON is YAML) keeping positions. Never throws: syntax errors come back as issues. */
export function readSource(source: string, file: string): SourceDocument {
  const lineCounter = new LineCounter();
  const toPosition = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const deep = tooDeepAt(source, MAX_MANIFEST_DEPTH);
  if (deep !== undefined) {
    // Not parsed: the parser is what a deep document would exhaust.
    const lines = source.slice(0, deep).split('\n');
    const position = { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
    const message = `collections nested deeper than ${MAX_MANIFEST_DEPTH} levels`;
    return { file, data: undefined, syntaxIssues: [{ file, ...position, path: '', message }], at: () => position, atChar: () => position };
  }
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });

  // After a syntax error the parser's view of the rest of the file is guesswork, and its further
  // errors are mostly echoes of the first: report the first error (or, with none, each warning).
  const problems = doc.errors.length > 0 ? doc.errors.slice(0, 1) : doc.warnings;
  const syntaxIssues: ManifestIssue[] = problems.map((problem) => ({
    file,
    ...toPosition(problemOffset(doc, problem)),
    path: '',
    message: `${problem.message}${hint(problem.code, source, problem.pos[0])}`,
  }));

  const entries = new Map<string, Entry>();
  const root = doc.contents;
  if (root) index(root, [], {}, entries);

  const nodePosition = (entry: Entry | undefined, part: 'key' | 'value'): Position => {
    if (!entry) return { line: 1, column: 1 };
    const { key, value } = entry;
    const preferKey = part === 'key' || !value || ((isMap(value) || isSeq(value)) && !value.flow);
    const node = preferKey && key ? key : (value ?? key);
    return node?.range ? toPosition(node.range[0]) : { line: 1, column: 1 };
  };

  const find = (path: Path): { entry: Entry | undefined; exact: boolean } => {
    for (let length = path.length; length >= 0; length -= 1) {
      const entry = entries.get(formatPath(path.slice(0, length)));
      if (entry) return { entry, exact: length === path.length };
    }
    return { entry: undefined, exact: false };
  };

  let data: unknown;
  if (syntaxIssues.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_MANIFEST_ALIASES });
    } catch (error) {
      // yaml refuses to expand an alias bomb (aliases of aliases, exponentially) this way.
      if (!(error instanceof ReferenceError)) throw error;
      syntaxIssues.push({ file, line: 1, column: 1, path: '', message: error.message });
    }
  }

  return {
    file,
    data,
    syntaxIssues,
    at(path, part = 'value') {
      const { entry, exact } = find(path);
      return nodePosition(entry, exact ? part : 'value');
    },
    atChar(path, charIndex) {
      const { entry, exact } = find(path);
      const value = entry?.value;
      if (exact && isScalar(value) && typeof value.value === 'string' && value.range) {
        const offset = sourceOffset(value.type, source.slice(value.range[0], value.range[1]), value.value, charIndex);
        if (offset !== undefined) return toPosition(value.range[0] + offset);
      }
      return nodePosition(entry, 'value');
    },
  };
}

/**
 * Where to report a YAML problem: where the parser noticed it, except for an unclosed quote,
 * which the parser notices at the end of the file but a person fixes where the quote opens.
 */
function problemOffset(doc: Document.Parsed, problem: YAMLError): number {
  const [offset] = problem.pos;
  if (problem.code !== 'MISSING_CHAR') return offset;
  let start = offset;
  visit(doc, {
    Scalar(_, node) {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (quoted && node.range && node.range[0] < offset && offset <= node.range[2]) start = node.range[0];
    },
  });
  return start;
}

/** Records every node under its formatted path. Aliases are recorded but not followed. */
function index(node: ParsedNode, path: Path, entry: Entry, entries: Map<string, Entry>): void {
  entries.set(formatPath(path), { ...entry, value: node });
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key;
      const name = isScalar(key) ? String(key.value) : undefined;
      if (name === undefined || !isParsed(key)) continue;
      const value = pair.value;
      if (isParsed(value)) index(value, [...path, name], { key }, entries);
      else entries.set(formatPath([...path, name]), { key });
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      if (isParsed(item)) index(item, [...path, i], {}, entries);
    });
  }
}

function isParsed(node: unknown): node is ParsedNode {
  return (isScalar(node) || isMap(node) || isSeq(node) || isAlias(node)) && node.range != null;
}

/**
 * Offset in the scalar's source text of character `index` of its value, when they correspond
 * one-to-one: a single-line plain scalar, or a single-line quoted one without escapes.
 */
function sourceOffset(type: string | undefined, raw: string, value: string, index: number): number | undefined {
  if (raw.includes('\n')) return undefined;
  if (type === 'PLAIN' && raw === value) return index;
  if ((type === 'QUOTE_SINGLE' || type === 'QUOTE_DOUBLE') && raw.slice(1, -1) === value) return index + 1;
  return undefined;
}
