/**
 * A task's logs in the run page: the lines of `GET /runs/{runId}/logs?taskId=` read as an event
 * stream, which sends what was logged so far and, while the run is live, each new line as the
 * task writes it. Only the last {@link MAX_LINES} lines are kept on screen.
 */
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { withQuery, type TaskLogLine } from '../api/index.js';
import { useEventStream } from '../hooks.js';

/** Lines rendered at most; older ones are dropped from the screen (not from the log). */
const MAX_LINES = 2000;
/** Lines arriving in a burst are rendered together, this often. */
const RENDER_MS = 100;

/** The logs panel of `taskId` in run `runId`. */
export function TaskLogs({ runId, taskId }: { runId: string; taskId: string }) {
  const [lines, setLines] = useState<TaskLogLine[]>([]);
  const [dropped, setDropped] = useState(0);
  const [ended, setEnded] = useState(false);
  const [problem, setProblem] = useState<string>();
  const last = useRef(0);
  const pending = useRef<TaskLogLine[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const list = useRef<HTMLOListElement>(null);
  /** Whether the view follows new lines: true until the reader scrolls up. */
  const following = useRef(true);

  const render = useCallback(() => {
    timer.current = undefined;
    const arrived = pending.current;
    pending.current = [];
    setLines((current) => {
      const all = current.concat(arrived);
      if (all.length <= MAX_LINES) return all;
      setDropped((count) => count + all.length - MAX_LINES);
      return all.slice(-MAX_LINES);
    });
  }, []);
  useEffect(() => () => clearTimeout(timer.current), []);

  // Reconnections resume after the last line received.
  const path = useMemo(() => () => withQuery(`/runs/${encodeURIComponent(runId)}/logs`, { taskId, after: last.current }), [runId, taskId]);
  const onEvent = useCallback(
    (event: string, data: unknown) => {
      if (event === 'log') {
        const line = data as TaskLogLine;
        last.current = line.seq;
        pending.current.push(line);
        timer.current ??= setTimeout(render, RENDER_MS);
        setProblem(undefined);
      } else if (event === 'end') {
        // The last lines with the end, so the count shown is the count kept.
        clearTimeout(timer.current);
        render();
        setEnded(true);
      }
      else if (event === 'error') setProblem((data as { message?: string }).message ?? 'the log stream failed');
    },
    [render],
  );
  useEventStream(path, onEvent);

  useLayoutEffect(() => {
    if (following.current && list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [lines]);
  const onScroll = (): void => {
    const element = list.current;
    if (element) following.current = element.scrollTop + element.clientHeight >= element.scrollHeight - 8;
  };

  const headingId = `task-logs-${taskId}`;
  return (
    <section className="task-logs" aria-labelledby={headingId} data-testid="task-logs" data-ended={ended}>
      <h3 id={headingId}>Logs of {taskId}</h3>
      <p className="hint" aria-live="polite">
        {ended ? `${lines.length + dropped} line${lines.length + dropped === 1 ? '' : 's'}` : 'Streaming…'}
        {dropped > 0 ? ` (showing the last ${MAX_LINES}; ${dropped} earlier not shown)` : ''}
        {problem ? ` — ${problem}` : ''}
      </p>
      {lines.length > 0 ? (
        <ol className="log-lines mono" ref={list} onScroll={onScroll} tabIndex={0} aria-label={`Log lines of ${taskId}`}>
          {lines.map((line) => (
            <li key={line.seq} data-level={line.level}>
              <span className="log-time">{line.time.slice(11, 23)}</span> <span className="log-level">{line.level.toUpperCase()}</span>
              {line.attempt > 1 ? <span className="log-attempt"> #{line.attempt}</span> : null} <span className="log-message">{line.message}</span>
              {line.fields ? <span className="log-fields"> {JSON.stringify(line.fields)}</span> : null}
            </li>
          ))}
        </ol>
      ) : ended ? (
        <p>No lines.</p>
      ) : null}
    </section>
  );
}
