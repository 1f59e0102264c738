// Focus for a modal dialog (`aria-modal="true"`): in on open, kept in while open, back on close.
import { tick } from 'svelte';
import type { Attachment } from 'svelte/attachments';

const FOCUSABLE =
  'a[href], button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea:not(:disabled), [tabindex]:not([tabindex="-1"])';

/** Where Tab may land in `root`: of a radio group only its checked radio (or its first). */
function tabStops(root: HTMLElement): HTMLElement[] {
  const out: HTMLElement[] = [];
  for (const el of root.querySelectorAll<HTMLElement>(FOCUSABLE)) {
    if (el.getClientRects().length === 0) continue;
    if (el instanceof HTMLInputElement && el.type === 'radio' && el.name) {
      const group = [...root.querySelectorAll<HTMLInputElement>(`input[type="radio"][name="${CSS.escape(el.name)}"]`)];
      const stop = group.find((r) => r.checked) ?? group[0];
      if (stop !== el) continue;
    }
    out.push(el);
  }
  return out;
}

/**
 * Makes the element a modal dialog's box: focus moves to its `[data-autofocus]` element (else its
 * first control), Tab and Shift+Tab cycle inside it, focus that wanders out (a click on the
 * backdrop) comes back, Escape calls `onescape`, and on close focus returns to where it was, or to
 * `fallback()` when that element is gone by then (e.g. the row that opened the dialog was merged away).
 */
export function modal(onescape: () => void, fallback?: () => HTMLElement | null | undefined): Attachment<HTMLElement> {
  return (box) => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const first = () => box.querySelector<HTMLElement>('[data-autofocus]') ?? tabStops(box)[0] ?? box;
    first().focus();

    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        onescape();
        return;
      }
      if (e.key !== 'Tab') return;
      const stops = tabStops(box);
      if (!stops.length) {
        e.preventDefault();
        return;
      }
      const i = stops.indexOf(document.activeElement as HTMLElement);
      if (e.shiftKey && i <= 0) {
        e.preventDefault();
        stops[stops.length - 1].focus();
      } else if (!e.shiftKey && (i === -1 || i === stops.length - 1)) {
        e.preventDefault();
        stops[0].focus();
      }
    };
    const onFocusIn = (e: FocusEvent) => {
      if (e.target instanceof Node && !box.contains(e.target)) first().focus();
    };
    box.addEventListener('keydown', onKey);
    document.addEventListener('focusin', onFocusIn);
    return () => {
      box.removeEventListener('keydown', onKey);
      document.removeEventListener('focusin', onFocusIn);
      // After the update that closed the dialog, which may also have removed the opener.
      void tick().then(() => {
        if (before?.isConnected && before !== document.body) before.focus();
        else fallback?.()?.focus();
      });
    };
  };
}
