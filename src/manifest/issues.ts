/**
 * Collecting a file's issues, each located by line, column and JSON path.
 */
import type { ErrorCode, ManifestIssue } from '../errors/index.js';
import { formatPath, type Path } from './path.js';
import type { Position, SourceDocument } from './source.js';

/** Where checks report what they find. */
export interface Reporter {
  readonly source: SourceDocument;
  /**
   * Reports a problem with the value at `path`; located at the value unless `position` is given;
   * `code` when the problem has a more precise code than `MANIFEST_INVALID`.
   */
  report(path: Path, message: string, position?: Position, code?: ErrorCode): void;
}

/** A reporter that keeps the issues, de-duplicated and in file order. */
export interface IssueCollector extends Reporter {
  /** Issues so far, sorted by line, then column. */
  issues(): ManifestIssue[];
}

/** Creates an {@link IssueCollector} for one file. */
export function createIssueCollector(source: SourceDocument): IssueCollector {
  const found = new Map<string, ManifestIssue>();
  return {
    source,
    report(path, message, position = source.at(path), code) {
      const issue: ManifestIssue = { file: source.file, ...position, path: formatPath(path), message, ...(code ? { code } : {}) };
      found.set(`${issue.line}:${issue.column}:${issue.path}:${message}`, issue);
    },
    issues() {
      return [...found.values()].sort((a, b) => a.line - b.line || a.column - b.column);
    },
  };
}
