/**
 * A modal confirmation (the native `<dialog>`, see `modal.ts`: focus is trapped, Escape cancels,
 * and the focus returns to the opener), with an optional comment field.
 */
import { useId, useRef, useState, type ReactNode } from 'react';
import { useModal } from './modal.js';

/** Props of {@link ConfirmDialog}. */
export interface ConfirmDialogProps {
  /** The question, e.g. "Cancel run r-1?". */
  title: string;
  /** What will happen. */
  children?: ReactNode;
  /** The confirm button's label. */
  confirmLabel: string;
  /** Label of a comment field; no field when absent. */
  commentLabel?: string;
  /** Styles the confirm button as destructive. @default false */
  danger?: boolean;
  /** Called with the comment ('' when none) once the user confirms. */
  onConfirm: (comment: string) => void;
  onCancel: () => void;
}

/** Opens as a modal when mounted; unmount it to close. */
export function ConfirmDialog({ title, children, confirmLabel, commentLabel, danger = false, onConfirm, onCancel }: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [comment, setComment] = useState('');
  const titleId = useId();
  const commentId = useId();
  useModal(ref);
  return (
    <dialog ref={ref} aria-labelledby={titleId} className="dialog" onCancel={onCancel} data-testid="confirm-dialog">
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          onConfirm(comment);
        }}
      >
        <h2 id={titleId}>{title}</h2>
        {children}
        {commentLabel ? (
          <p>
            <label htmlFor={commentId}>{commentLabel}</label>
            <textarea id={commentId} autoFocus value={comment} onChange={(event) => setComment(event.target.value)} rows={3} maxLength={2000} />
          </p>
        ) : null}
        <div className="dialog-actions">
          <button type="button" onClick={onCancel}>
            Back
          </button>
          <button type="submit" className={danger ? 'danger' : 'primary'} autoFocus={!commentLabel}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
