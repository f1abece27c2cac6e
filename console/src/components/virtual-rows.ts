/**
 * A window of a long table's rows: with a fixed row height, only the rows in view (and a few
 * either side) are in the DOM, and two spacer rows keep the scroll height of all of them. A page of
 * 1,000 runs then renders ~40 rows instead of 1,000. Also the keyboard navigation between rows that
 * every page's primary table uses (virtualised or not): {@link useRowKeys}.
 */
import { useCallback, useEffect, useState, type KeyboardEvent, type RefObject } from 'react';

/** Rows rendered above and below the ones in view, so a quick scroll shows no gap. */
const OVERSCAN = 10;

/** The rows to render out of `count`, and the spacers' heights in pixels. */
export interface RowWindow {
  start: number;
  end: number;
  before: number;
  after: number;
}

/**
 * The rows of `count` (each `rowHeight` px) visible in the scrolling `container`, kept up to date
 * as it scrolls or resizes.
 */
export function useRowWindow(container: RefObject<HTMLElement | null>, count: number, rowHeight: number): RowWindow {
  const [view, setView] = useState({ top: 0, height: 800 });
  useEffect(() => {
    const element = container.current;
    if (!element) return undefined;
    const update = (): void => setView({ top: element.scrollTop, height: element.clientHeight || 800 });
    update();
    element.addEventListener('scroll', update, { passive: true });
    const resize = new ResizeObserver(update);
    resize.observe(element);
    return () => {
      element.removeEventListener('scroll', update);
      resize.disconnect();
    };
  }, [container]);
  return rowWindow(count, rowHeight, view.top, view.height);
}

/** Pure: the window of rows for a scroll position. */
export function rowWindow(count: number, rowHeight: number, scrollTop: number, viewHeight: number): RowWindow {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.max(0, Math.min(count, first - OVERSCAN));
  const end = Math.min(count, first + Math.ceil(viewHeight / rowHeight) + OVERSCAN);
  return { start, end, before: start * rowHeight, after: Math.max(0, (count - end) * rowHeight) };
}

/**
 * `onKeyDown` for a table body: ArrowUp/ArrowDown (Home/End) move the focus to the first link or
 * button of the row above/below (first/last) — or to the row itself when it has none (e.g. a
 * runbook the caller may not trigger) — scrolling it into view; Enter then follows the link.
 * Rows carry `data-row-index` (0 to `count` − 1); `scrollToRow`, for a virtualised table, brings a
 * row not rendered yet into the window.
 * @param scrollToRow @default undefined — every row is rendered
 */
export function useRowKeys(count: number, scrollToRow?: (index: number) => void): (event: KeyboardEvent<HTMLElement>) => void {
  return useCallback(
    (event: KeyboardEvent<HTMLElement>) => {
      const keys: Record<string, number | undefined> = { ArrowDown: 1, ArrowUp: -1 };
      if (!(event.key in keys) && event.key !== 'Home' && event.key !== 'End') return;
      const row = (event.target as HTMLElement).closest<HTMLElement>('[data-row-index]');
      if (!row) return;
      const current = Number(row.dataset.rowIndex);
      const next = event.key === 'Home' ? 0 : event.key === 'End' ? count - 1 : current + (keys[event.key] ?? 0);
      if (next < 0 || next >= count || next === current) return;
      event.preventDefault();
      const body = event.currentTarget;
      const focus = (): boolean => {
        const target = body.querySelector<HTMLElement>(`[data-row-index="${next}"]`);
        if (!target) return false;
        const control = target.querySelector<HTMLElement>('a, button');
        if (!control) target.tabIndex = -1;
        (control ?? target).focus();
        target.scrollIntoView({ block: 'nearest' });
        return true;
      };
      if (!focus() && scrollToRow) {
        // Rendered once the scroll has moved the window: a few frames later.
        scrollToRow(next);
        let frames = 0;
        const retry = (): void => {
          if (!focus() && (frames += 1) < 30) requestAnimationFrame(retry);
        };
        requestAnimationFrame(retry);
      }
    },
    [count, scrollToRow],
  );
}
