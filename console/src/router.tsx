/**
 * A small history-API router: the console has a few pages and their state lives in the URL (filters,
 * the page token, the selected task), so a view can be shared by copying the address.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** Where the console is served (vite `base`). */
export const BASE = import.meta.env.BASE_URL.replace(/\/$/, '');

const NAVIGATE_EVENT = 'maestro:navigate';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

const snapshot = (): string => window.location.pathname + window.location.search;

/** A console path (without {@link BASE}) and query. */
export interface ConsoleLocation {
  path: string;
  query: URLSearchParams;
}

function locationOf(current: string): ConsoleLocation {
  const url = new URL(current, window.location.origin);
  const path = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) || '/' : url.pathname;
  return { path, query: url.searchParams };
}

/** The console path and query of the current address, read once (outside React). */
export function currentLocation(): ConsoleLocation {
  return locationOf(snapshot());
}

/** The console path and query of the current address; re-renders on navigation. */
export function useLocation(): ConsoleLocation {
  return locationOf(useSyncExternalStore(subscribe, snapshot));
}

/** The full address of a console path (`/runs/x` → `/console/runs/x`). */
export function href(path: string): string {
  return `${BASE}${path}`;
}

/** Goes to a console path; `replace` keeps the history entry (filter edits). */
export function navigate(path: string, { replace = false }: { replace?: boolean } = {}): void {
  const target = href(path);
  if (target === snapshot()) return;
  if (replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

/** An anchor to a console path, navigating in place unless a modifier asks for a new tab. */
export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const follow = (event: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={href(to)} onClick={follow} {...rest} />;
}

/** Matches `path` against a pattern such as `/runs/:runId`; returns the decoded parameters. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const names: string[] = [];
  const regex = new RegExp(`^${pattern.replace(/:([a-zA-Z]+)/g, (_, name: string) => (names.push(name), '([^/]+)'))}/?$`);
  const found = regex.exec(path);
  if (!found) return undefined;
  return Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(found[index + 1] ?? '')]));
}
