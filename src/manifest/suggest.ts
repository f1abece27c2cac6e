/**
 * "Did you mean" suggestions for misspelt names.
 */

/** Edit distance (insertions, deletions, substitutions, adjacent transpositions), row by row. */
function distance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (before[j - 2] ?? 0) + 1);
      current.push(best);
    }
    [before, previous] = [previous, current];
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate closest to `name`, if one is close enough to be a likely typo (case differences,
 * a prefix such as `int` for `integer`, or a few edits).
 *
 * @example suggest('need', ['id', 'uses', 'needs']) // 'needs'
 */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const other = candidate.toLowerCase();
    const score = other === lower ? 0 : lower.length >= 3 && other.startsWith(lower) ? 1 : distance(lower, other);
    // Roughly one edit per three characters: short names only match exactly (ignoring case).
    const limit = Math.floor(Math.max(lower.length, other.length) / 3);
    if (score <= limit && (!best || score < best.score)) best = { candidate, score };
  }
  return best?.candidate;
}

/** ` (did you mean "x"?)` when a suggestion exists, else the empty string; for appending to messages. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const match = suggest(name, candidates);
  return match === undefined ? '' : ` (did you mean "${match}"?)`;
}
