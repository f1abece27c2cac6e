/**
 * A run's or task's status as a badge: text and colour together (never colour alone).
 */

/** Shows `status`, styled by the `status-<name>` class of styles.css. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`status status-${status.toLowerCase()}`} data-status={status}>
      {status}
    </span>
  );
}
