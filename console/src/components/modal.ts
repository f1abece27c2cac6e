/**
 * The console's modal dialogs are native `<dialog>`s opened with `showModal()`: the browser keeps
 * the focus inside (the rest of the page is inert) and Escape cancels (`onCancel`). Each is
 * mounted to open and unmounted to close; {@link useModal} opens it, and on close gives the focus
 * back to what had it before (the button that opened it), or to the page's main region when that
 * is gone (an approved gate's row leaves the inbox).
 */
import { useEffect, type RefObject } from 'react';

/** Opens the dialog in `ref` as a modal on mount; on unmount, closes it and returns the focus. */
export function useModal(ref: RefObject<HTMLDialogElement | null>): void {
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      if (dialog?.open) dialog.close();
      (opener?.isConnected && opener !== document.body ? opener : document.getElementById('main'))?.focus();
    };
  }, [ref]);
}
