/** The namespace filter the store's listings share. */

/** `WHERE namespace IN (…)` for `namespaces` from `$first` on, or nothing when every namespace is wanted. */
export function namespaceClause(namespaces: readonly string[] | undefined, column: string): { where: string; params: string[] } {
  if (namespaces === undefined) return { where: '', params: [] };
  // An empty list matches nothing (`IN ()` is not valid SQL).
  if (namespaces.length === 0) return { where: 'WHERE 1 = 0', params: [] };
  return { where: `WHERE ${column} IN (${namespaces.map((_, index) => `$${index + 1}`).join(', ')})`, params: [...namespaces] };
}
