/** What the docs tests read from Markdown pages. */

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as `-`. */
export function anchors(text: string): Set<string> {
  const outside = text.replace(/^```[\s\S]*?^```/gm, '');
  return new Set(
    [...outside.matchAll(/^#{1,6} (.+)$/gm)].map((match) =>
      (match[1] ?? '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}
