// Keyboard first: every global shortcut, in one place. `installShortcuts` is called once (App); the
// cheat sheet (`?`) and the pane's placeholder list them from `SHORTCUT_GROUPS`. None fires while
// the agent types in a field (there Escape leaves the field), inside a popup or confirmation (its
// keys are its own), or while a modal dialog is open (Escape closes it).
import { tick } from 'svelte';
import type { AppState } from './app.svelte';
import { TABS } from './conversations.svelte';
import type { MessageKey } from './i18n';

/** One shortcut as the cheat sheet shows it. Each entry of `keys` is one way to press it: a
 * single key ("j"), a chord ("Ctrl+K") or a sequence ("g s": g, then s). */
export type Shortcut = { keys: readonly string[]; label: MessageKey };
export type ShortcutGroup = { title: MessageKey; items: readonly Shortcut[] };

export const SHORTCUT_GROUPS: readonly ShortcutGroup[] = [
  {
    title: 'keys.groupList',
    items: [
      { keys: ['j', '↓'], label: 'keys.next' },
      { keys: ['k', '↑'], label: 'keys.previous' },
      { keys: ['Enter', 'o'], label: 'keys.open' },
      { keys: ['u'], label: 'keys.nextUnread' },
      { keys: ['1', '2', '3', '4'], label: 'keys.tabs' },
      { keys: ['/', 'Ctrl+K'], label: 'keys.search' },
    ],
  },
  {
    title: 'keys.groupConversation',
    items: [
      { keys: ['r'], label: 'keys.reply' },
      { keys: ['n'], label: 'keys.note' },
      { keys: ['e'], label: 'keys.resolve' },
      { keys: ['s'], label: 'keys.snooze' },
      { keys: ['i', 'a'], label: 'keys.assign' },
      { keys: ['l'], label: 'keys.labels' },
      { keys: ['m'], label: 'keys.macro' },
    ],
  },
  {
    title: 'keys.groupGo',
    items: [
      { keys: ['g c'], label: 'keys.goConversations' },
      { keys: ['g p'], label: 'keys.goContacts' },
      { keys: ['g r'], label: 'keys.goReports' },
      { keys: ['g s'], label: 'keys.goSettings' },
    ],
  },
  {
    title: 'keys.groupGeneral',
    items: [
      { keys: ['?'], label: 'keys.help' },
      { keys: ['Esc'], label: 'keys.escape' },
    ],
  },
];

/** How long the second key of a "g" sequence may wait. */
export const SEQUENCE_MS = 1000;

/** Inputs that take no typing: on them, letters are shortcuts. */
const NOT_TYPED = ['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file', 'image'];

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !NOT_TYPED.includes(target.type);
  return target.isContentEditable || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT';
}

/** Inside an open popup or confirmation, keys belong to it. */
function inPopup(target: EventTarget | null): boolean {
  return target instanceof Element && !!target.closest('[role="dialog"], [role="alertdialog"]');
}

function modalOpen(): boolean {
  return document.querySelector('[aria-modal="true"]') !== null;
}

/** Where the arrow keys move through the list rather than scroll or move within a control: nothing
 * focused, or focus in the list itself. */
function arrowsBelongToList(target: EventTarget | null): boolean {
  if (!(target instanceof Element) || target === document.body) return true;
  return !!target.closest('[data-testid="conversation-list"], [data-testid="contacts-list"]');
}

const byTestId = <T extends HTMLElement>(id: string) => document.querySelector<T>(`[data-testid="${id}"]`);

/** Opens one of the conversation header's popups (snooze, labels, macros) as a click would. */
function openMenu(testid: string): boolean {
  const button = byTestId<HTMLButtonElement>(testid);
  if (!button || button.disabled) return false;
  if (button.getAttribute('aria-expanded') !== 'true') button.click();
  return true;
}

/** The reply box in reply (`note` false) or private-note mode, focused. */
function focusReply(note: boolean): boolean {
  const input = byTestId<HTMLTextAreaElement>('reply-input');
  if (!input) return false;
  const toggle = byTestId<HTMLButtonElement>('note-toggle');
  const pressed = toggle?.getAttribute('aria-pressed') === 'true';
  if (pressed !== note) {
    // The reply window may be closed: then the note mode cannot be left.
    if (note) toggle?.click();
    else if (!byTestId<HTMLButtonElement>('reply-mode')?.disabled) byTestId<HTMLButtonElement>('reply-mode')?.click();
  }
  input.focus();
  return true;
}

/** Focuses the search of the page shown: the contacts page's own, else the conversations'. */
async function focusSearch(app: AppState): Promise<void> {
  if (app.view === 'contacts') {
    byTestId<HTMLInputElement>('contacts-search')?.focus();
    return;
  }
  if (app.view !== 'inbox') {
    app.showInbox();
    await tick();
  }
  const input = document.getElementById('search-input') as HTMLInputElement | null;
  input?.focus();
  input?.select();
}

/** The selected conversation opened (the first one when none is), with focus on its thread. */
async function openSelected(app: AppState): Promise<void> {
  const id = app.selectedId ?? app.list.ids[0];
  if (id === undefined) return;
  if (app.open.id !== id) app.select(id);
  app.revealToken++;
  await tick();
  byTestId('thread')?.focus();
}

/** The next conversation down the list with unread messages (wrapping round to the top). */
function nextUnread(app: AppState): void {
  const ids = app.list.ids;
  const from = app.list.indexOf(app.selectedId);
  for (let n = 1; n <= ids.length; n++) {
    const id = ids[(from + n + ids.length) % ids.length];
    if (id !== app.selectedId && (app.list.rows.get(id)?.unread_count ?? 0) > 0) {
      app.select(id);
      app.revealToken++;
      return;
    }
  }
}

/** Listens for the shortcuts on the window; returns the function that stops it. */
export function installShortcuts(app: AppState): () => void {
  /** When "g" was pressed, waiting for its second key. */
  let pendingG = 0;

  function onKeydown(e: KeyboardEvent) {
    if (e.defaultPrevented || e.isComposing) return;
    if (modalOpen()) {
      // Its own keydown closes it; this is for when focus got out of it somehow.
      if (e.key === 'Escape') {
        e.preventDefault();
        app.closeModal();
      }
      return;
    }
    // Ctrl+K (⌘K) is no text: it searches from anywhere, a text field included.
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
      if (inPopup(e.target)) return;
      e.preventDefault();
      void focusSearch(app);
      return;
    }
    if (e.metaKey || e.ctrlKey || e.altKey) return;
    if (typing(e.target)) {
      if (e.key === 'Escape' && !inPopup(e.target)) (e.target as HTMLElement).blur();
      return;
    }
    if (inPopup(e.target)) return;

    const sequence = pendingG > 0 && e.timeStamp - pendingG <= SEQUENCE_MS;
    pendingG = 0;
    if (sequence) {
      const go: Record<string, () => void> = {
        c: () => app.showInbox(),
        p: () => app.showContacts(),
        r: () => app.showReports(),
        s: () => app.showSettings(),
      };
      if (go[e.key]) {
        e.preventDefault();
        go[e.key]();
        return;
      }
    }
    if (e.repeat && !['j', 'k', 'ArrowDown', 'ArrowUp'].includes(e.key)) return;

    if (handle(e)) e.preventDefault();
  }

  /** Acts on the key; says whether it was a shortcut here. */
  function handle(e: KeyboardEvent): boolean {
    const key = e.key;
    switch (key) {
      case '?':
        app.showShortcuts();
        return true;
      case 'g':
        pendingG = e.timeStamp;
        return true;
      case '/':
        void focusSearch(app);
        return true;
    }
    if (app.view === 'contacts') {
      if ((key === 'ArrowDown' || key === 'ArrowUp') && !arrowsBelongToList(e.target)) return false;
      if (key === 'j' || key === 'ArrowDown') app.stepContact(1);
      else if (key === 'k' || key === 'ArrowUp') app.stepContact(-1);
      else return false;
      return true;
    }
    if (app.view !== 'inbox') return false;
    const open = app.open.id !== null && !app.open.gone;
    switch (key) {
      case 'ArrowDown':
      case 'ArrowUp':
        if (!arrowsBelongToList(e.target)) return false;
        app.step(key === 'ArrowDown' ? 1 : -1);
        return true;
      case 'j':
        app.step(1);
        return true;
      case 'k':
        app.step(-1);
        return true;
      case 'Enter':
        // On a button or link, Enter presses it.
        if (e.target instanceof Element && e.target !== document.body && e.target.closest('button, a, input, [role="button"], [role="radio"], summary')) return false;
        void openSelected(app);
        return true;
      case 'o':
        void openSelected(app);
        return true;
      case 'u':
        nextUnread(app);
        return true;
      case '1':
      case '2':
      case '3':
      case '4':
        app.list.setTab(TABS[Number(key) - 1]);
        return true;
      case 'r':
        return focusReply(false);
      case 'n':
        return focusReply(true);
      case 'e':
        if (!open) return false;
        byTestId<HTMLButtonElement>('resolve-button')?.click();
        return true;
      case 'i':
      case 'a':
        if (!open) return false;
        void app.assignToMe();
        return true;
      case 's':
        return open && openMenu('snooze-menu');
      case 'l':
        return open && openMenu('labels-menu');
      case 'm':
        return open && openMenu('macro-menu');
    }
    return false;
  }

  window.addEventListener('keydown', onKeydown);
  return () => window.removeEventListener('keydown', onKeydown);
}
