/**
 * A modal dialog inside the panel: focus moves into it on open, Tab and
 * Shift+Tab cycle within it, Escape closes it, and focus returns to what had it
 * before. (The panel lives in a notebook output, so it is not a page-wide
 * `<dialog>`: it covers the panel only.)
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export interface DialogProps {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  class?: string;
}

export function Dialog({ title, onClose, children, class: cls }: DialogProps) {
  const box = useRef<HTMLDivElement>(null);
  const titleId = useRef(`md-dialog-${Math.random().toString(36).slice(2, 9)}`).current;
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const el = box.current;
    const first = el?.querySelector<HTMLElement>('[data-autofocus]') ?? el?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? el)?.focus();
    return () => {
      if (before && typeof before.focus === 'function' && document.contains(before)) before.focus();
    };
  }, []);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      e.preventDefault();
      closeRef.current();
      return;
    }
    if (e.key !== 'Tab' || !box.current) return;
    const items = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (items.length === 0) {
      e.preventDefault();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    const active = document.activeElement;
    if (e.shiftKey && (active === first || active === box.current)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <div class="md-backdrop" onMouseDown={(e) => e.target === e.currentTarget && closeRef.current()}>
      <div ref={box} class={`md-dialog ${cls ?? ''}`} role="dialog" aria-modal="true" aria-labelledby={titleId} tabIndex={-1} onKeyDown={onKeyDown}>
        <header class="md-dialog-head">
          <h2 id={titleId}>{title}</h2>
          <button type="button" class="md-icon-button" aria-label="Close" title="Close (Escape)" onClick={() => closeRef.current()}>
            ×
          </button>
        </header>
        <div class="md-dialog-body">{children}</div>
      </div>
    </div>
  );
}
