/**
 * Multi-document manifest files (`---` between documents, as `kubectl apply -f` reads them): each
 * document parsed and validated like a file of its own, its issues located in the whole file.
 */
import { Parser } from 'yaml';
import type { Catalog } from '../catalog/index.js';
import { MaestroError, ManifestError, type ManifestIssue } from '../errors/index.js';
import { declaredNamespace, MAX_MANIFEST_BYTES, parseManifest, type ParseManifestOptions } from './parse.js';
import { MAX_MANIFEST_DEPTH, tooDeepAt } from './source.js';
import type { Manifest } from './types.js';

/** One document of a file: its own text and the line of the file it starts on. */
export interface ManifestDocumentText {
  /** The document's text, from its `---` (or the file's start) to the next document. */
  text: string;
  /** The 1-based line of the file where {@link text} starts. */
  line: number;
}

/** A validated document of a multi-document file: a manifest `parseManifest` reads, or a schedule. */
export interface ManifestDocument extends ManifestDocumentText {
  manifest: Manifest;
}

/** Most documents one file may hold; each is validated, so the count bounds the work. */
export const MAX_DOCUMENTS_PER_FILE = 200;

/**
 * Splits a YAML text into its documents, leaving out those with no content (a stray `---`, only
 * comments). A text that nests too deep, or holds one document, is returned whole: parsing it
 * reports what is wrong, at the right line.
 */
export function splitDocuments(source: string): ManifestDocumentText[] {
  if (tooDeepAt(source, MAX_MANIFEST_DEPTH) !== undefined) return [{ text: source, line: 1 }];
  const documents: { offset: number; empty: boolean }[] = [];
  for (const token of new Parser().parse(source)) {
    if (token.type === 'document') documents.push({ offset: token.offset, empty: token.value === undefined });
  }
  if (documents.length <= 1) return [{ text: source, line: 1 }];
  const texts: ManifestDocumentText[] = [];
  documents.forEach(({ offset, empty }, index) => {
    if (empty) return;
    // The first document keeps what precedes it (comments, directives); each ends where the next starts.
    const start = index === 0 ? 0 : offset;
    const end = documents[index + 1]?.offset ?? source.length;
    texts.push({ text: source.slice(start, end), line: lineAt(source, start) });
  });
  return texts;
}

function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let at = source.indexOf('\n'); at >= 0 && at < offset; at = source.indexOf('\n', at + 1)) line += 1;
  return line;
}

/** Options of {@link parseManifestDocuments}. */
export interface ParseDocumentsOptions extends Omit<ParseManifestOptions, 'catalog'> {
  /**
   * What each document's tasks resolve to: one catalog for all, or the catalog of the namespace a
   * document declares (its `metadata.namespace`, `undefined` when it names none) — a file may hold
   * documents of several namespaces, each checked against its own namespace's registered tasks.
   */
  catalog: Catalog | ((namespace: string | undefined) => Catalog);
}

/**
 * Parses and validates every document of a file (see `parseManifest`), each issue located in the
 * file: a document starting on line 40 reports its second line as line 41.
 *
 * @throws ManifestError with the issues of every invalid document.
 * @throws MaestroError `PAYLOAD_TOO_LARGE` for a text over `MAX_MANIFEST_BYTES`, or with more than
 *   {@link MAX_DOCUMENTS_PER_FILE} documents.
 */
export function parseManifestDocuments(source: string, file: string, { catalog, ...options }: ParseDocumentsOptions): ManifestDocument[] {
  const bytes = Buffer.byteLength(source);
  if (bytes > MAX_MANIFEST_BYTES) throw new MaestroError('PAYLOAD_TOO_LARGE', `${file}: the file takes ${bytes} bytes, more than the limit of ${MAX_MANIFEST_BYTES}`);
  const texts = splitDocuments(source);
  if (texts.length > MAX_DOCUMENTS_PER_FILE) {
    throw new MaestroError('PAYLOAD_TOO_LARGE', `${file}: the file holds ${texts.length} documents, more than the limit of ${MAX_DOCUMENTS_PER_FILE}`);
  }
  const documents: ManifestDocument[] = [];
  const issues: ManifestIssue[] = [];
  for (const { text, line } of texts) {
    try {
      // Blank lines in front keep the parser's lines those of the file (never longer than the file).
      const located = `${'\n'.repeat(line - 1)}${text}`;
      const resolving = typeof catalog === 'function' ? catalog(declaredNamespace(located, file)) : catalog;
      documents.push({ text, line, manifest: parseManifest(located, file, { ...options, catalog: resolving }) });
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) throw new ManifestError(issues);
  return documents;
}
