/**
 * Data hooks: a GET of the API kept in component state, event streams (a run's progress, a task's
 * logs), and the console's settings.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, readEvents, requestJson, type ConsoleConfig, type StreamEvent } from './api/index.js';

/** The state of one GET. */
export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Fetches again (keeping the current data on screen meanwhile). */
  reload: () => void;
  /** Replaces the data (live updates). */
  setData: (update: (current: T | undefined) => T | undefined) => void;
}

/** Statuses worth asking again for: the API or a dependency is briefly unavailable (0: unreachable). */
const TRANSIENT: ReadonlySet<number> = new Set([0, 502, 503, 504]);
/** Pause before asking again after a transient failure. */
const RETRY_MS = 2000;

/** GETs started by {@link prefetch}, each waiting for the first {@link useResource} of its path. */
const prefetched = new Map<string, Promise<unknown>>();

/**
 * Starts `GET path` now, for the first {@link useResource} of `path` to take instead of asking
 * again. The console calls it as it boots, so the API's answer comes while React loads and renders.
 */
export function prefetch(path: string): void {
  if (prefetched.has(path)) return;
  const pending = requestJson<unknown>('GET', path);
  // Marked as handled only: the useResource that takes it shows the failure.
  pending.catch(() => undefined);
  prefetched.set(path, pending);
}

/**
 * GETs `path` (nothing while undefined) and again whenever it changes or `reload` is called; a
 * transient failure (API unreachable, 502-504) is shown and retried every {@link RETRY_MS} ms.
 * The first GET of a path is the {@link prefetch}ed one when there is one.
 */
export function useResource<T>(path: string | undefined): Resource<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (path === undefined) return undefined;
    const abort = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    setLoading(true);
    const pending = prefetched.get(path) as Promise<T> | undefined;
    prefetched.delete(path);
    (pending ?? requestJson<T>('GET', path, { signal: abort.signal })).then(
      (body) => {
        if (abort.signal.aborted) return;
        setData(body);
        setError(undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (abort.signal.aborted) return;
        setError(failure);
        setLoading(false);
        if (failure instanceof ApiError && TRANSIENT.has(failure.status)) retry = setTimeout(() => setGeneration((value) => value + 1), RETRY_MS);
      },
    );
    return () => {
      abort.abort();
      clearTimeout(retry);
    };
  }, [path, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { data, error, loading, reload, setData };
}

/**
 * Follows the event stream at `path()` while `path` is set, parsing each event's JSON for
 * `onEvent`. A dropped stream is reopened after a pause until it sends `end`; `path` is asked again
 * for each connection, so it can carry where to resume.
 */
export function useEventStream(path: (() => string) | undefined, onEvent: (event: string, data: unknown) => void): void {
  useEffect(() => {
    if (path === undefined) return undefined;
    const abort = new AbortController();
    let ended = false;
    const handle = ({ event, data }: StreamEvent): void => {
      if (event === 'end') ended = true;
      onEvent(event, JSON.parse(data) as unknown);
    };
    void (async () => {
      while (!ended && !abort.signal.aborted) {
        try {
          await readEvents(path(), handle, abort.signal);
        } catch (error) {
          if (abort.signal.aborted) return;
          onEvent('error', { message: error instanceof Error ? error.message : String(error) });
        }
        if (!ended) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    })();
    return () => abort.abort();
  }, [path, onEvent]);
}

/** Follows `GET /runs/{runId}/events` while `runId` is set (see {@link useEventStream}). */
export function useRunEvents(runId: string | undefined, onEvent: (event: string, data: unknown) => void): void {
  const path = useMemo(() => (runId === undefined ? undefined : () => `/runs/${encodeURIComponent(runId)}/events`), [runId]);
  useEventStream(path, onEvent);
}

const UI_URL_KEY = 'maestro.temporalUiUrl';
/** Dispatched on `window` when a setting is saved, so every page reads it again. */
const SETTINGS_EVENT = 'maestro:settings';
let served: Promise<ConsoleConfig> | undefined;

/** `GET /console/config.json`, once per page load (it is not secret: no token needed). */
function servedConfig(): Promise<ConsoleConfig> {
  served ??= fetch(`${import.meta.env.BASE_URL}config.json`).then(async (res) => {
    if (!res.ok) throw new Error(`GET config.json: ${res.status}`);
    return (await res.json()) as ConsoleConfig;
  });
  return served;
}

/** The console's settings: what the API tells it, overridden by what the user saved in this browser. */
export function useConsoleConfig(): ConsoleConfig & { saveTemporalUiUrl: (url: string) => void } {
  const [config, setConfig] = useState<ConsoleConfig>({ temporalNamespace: 'default' });
  const [override, setOverride] = useState(() => localStorage.getItem(UI_URL_KEY) ?? '');
  useEffect(() => {
    servedConfig().then(setConfig, (error: unknown) => console.warn('maestro console: no config from the API, using defaults', error));
    const reread = (): void => setOverride(localStorage.getItem(UI_URL_KEY) ?? '');
    window.addEventListener(SETTINGS_EVENT, reread);
    return () => window.removeEventListener(SETTINGS_EVENT, reread);
  }, []);
  const saveTemporalUiUrl = useCallback((url: string) => {
    if (url) localStorage.setItem(UI_URL_KEY, url);
    else localStorage.removeItem(UI_URL_KEY);
    window.dispatchEvent(new Event(SETTINGS_EVENT));
  }, []);
  const temporalUiUrl = override || config.temporalUiUrl;
  return { ...config, ...(temporalUiUrl ? { temporalUiUrl } : {}), saveTemporalUiUrl };
}
