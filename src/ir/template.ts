/**
 * `${...}` templates inside manifest strings. A string that is exactly one `${expr}` keeps the
 * expression's type; any other string with templates interpolates into a string.
 *
 * Workflow-safe: used by the compiler to check expressions and by the interpreter to evaluate them.
 */

/** A piece of a template string: literal text, or a CEL expression with its offset in the string. */
export type TemplatePart = { text: string } | { expr: string; offset: number };

/** A `${` without its closing `}`. */
export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    /** Offset of the `${` in the string. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

/**
 * Splits a string into literal text and `${...}` expressions. Braces and quotes inside an
 * expression are balanced, so `${ {'a': 1}['a'] }` is one expression. `$${` escapes a literal `${`.
 */
export function parseTemplate(source: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('$${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (!source.startsWith('${', i)) {
      text += source[i];
      i += 1;
      continue;
    }
    const end = findClosingBrace(source, i + 2);
    if (end < 0) throw new TemplateSyntaxError('unterminated "${": missing "}"', i);
    if (text) parts.push({ text });
    text = '';
    parts.push({ expr: source.slice(i + 2, end).trim(), offset: i + 2 });
    i = end + 1;
  }
  if (text) parts.push({ text });
  return parts;
}

function findClosingBrace(source: string, from: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = from; i < source.length; i += 1) {
    const c = source[i];
    if (quote) {
      if (c === '\\') i += 1;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{') depth += 1;
    else if (c === '}') {
      if (depth === 0) return i;
      depth -= 1;
    }
  }
  return -1;
}

/** True when the string holds at least one `${...}`. */
export function hasTemplate(source: string): boolean {
  return parseTemplate(source).some((part) => 'expr' in part);
}

/**
 * Calls `visit` for every `${...}` expression in a JSON value, with the JSON path of the string
 * that holds it (`['with', 'rows', 0]`).
 */
export function forEachExpression(
  value: unknown,
  visit: (expr: string, path: (string | number)[], offset: number) => void,
  path: (string | number)[] = [],
): void {
  if (typeof value === 'string') {
    for (const part of parseTemplate(value)) if ('expr' in part) visit(part.expr, path, part.offset);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => forEachExpression(item, visit, [...path, index]));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) forEachExpression(item, visit, [...path, key]);
  }
}
