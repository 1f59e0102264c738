// The conversation list: an ordered id array plus a Map of rows, filled page by page with a
// keyset cursor and patched in place by live events, so it never reloads wholesale to show
// one change and can hold 100k rows.
import { SvelteSet } from 'svelte/reactivity';
import type { Backend, ConversationFilter, ConversationRow, Cursor, StatusCounts } from './backend';
import { toBackendError } from './backend';

export const PAGE_SIZE = 100;

export type Tab = 'open' | 'pending' | 'resolved' | 'all';
export const TABS: readonly Tab[] = ['open', 'pending', 'resolved', 'all'];

/** True when `a` sorts before `b`: newest activity first, then higher id first (the store's order). */
function before(a: ConversationRow, b: ConversationRow): boolean {
  return a.last_activity_at > b.last_activity_at || (a.last_activity_at === b.last_activity_at && a.id > b.id);
}

export class ConversationList {
  tab = $state<Tab>('open');
  inboxId = $state<number | null>(null);
  unreadOnly = $state(false);
  /** Only conversations with this label (by name). */
  label = $state<string | null>(null);
  /** Only conversations assigned to this agent. */
  assignee = $state<string | null>(null);
  /** Rows ticked for a bulk action; a row leaving the list leaves the selection. */
  readonly selected = new SvelteSet<number>();

  /** Ordered ids; replaced (not mutated) so readers get a cheap reactive signal. */
  ids = $state.raw<number[]>([]);
  /** Bumped whenever a row object in `rows` changes. */
  version = $state(0);
  // Deliberately not a SvelteMap: 100k per-key signals would cost more than one `version` bump.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly rows = new Map<number, ConversationRow>();

  hasMore = $state(false);
  loading = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);
  counts = $state<StatusCounts | null>(null);

  private cursor: Cursor | null = null;
  private generation = 0;
  /** Rows changed while a page was in flight: the page may predate the change, so re-fetch them. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
  private changedWhileLoading = new Set<number>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, never rendered
  private rowSeq = new Map<number, number>();
  private countsTimer: ReturnType<typeof setTimeout> | null = null;
  private countsSeq = 0;

  constructor(private backend: Backend) {}

  get filter(): ConversationFilter {
    return {
      status: this.tab === 'all' ? null : this.tab,
      inbox_id: this.inboxId,
      unread_only: this.unreadOnly,
      label: this.label,
      assignee: this.assignee,
    };
  }

  matches(row: ConversationRow): boolean {
    const f = this.filter;
    return (
      (f.status === null || row.status === f.status) &&
      (f.inbox_id === null || row.inbox_id === f.inbox_id) &&
      (!f.unread_only || row.unread_count > 0) &&
      (f.label == null || row.labels.includes(f.label)) &&
      (f.assignee == null || row.assignee === f.assignee)
    );
  }

  setTab(tab: Tab): void {
    if (tab === this.tab) return;
    this.tab = tab;
    this.selected.clear();
    void this.reload();
  }

  setInbox(inboxId: number | null): void {
    if (inboxId === this.inboxId) return;
    this.inboxId = inboxId;
    this.selected.clear();
    void this.reload();
    this.refreshCounts(0);
  }

  setUnreadOnly(on: boolean): void {
    if (on === this.unreadOnly) return;
    this.unreadOnly = on;
    this.selected.clear();
    void this.reload();
  }

  setLabel(label: string | null): void {
    if (label === this.label) return;
    this.label = label;
    this.selected.clear();
    void this.reload();
  }

  setAssignee(agent: string | null): void {
    if (agent === this.assignee) return;
    this.assignee = agent;
    this.selected.clear();
    void this.reload();
  }

  /** Ticks or unticks one row. */
  toggleSelected(id: number, on: boolean): void {
    if (on) this.selected.add(id);
    else this.selected.delete(id);
  }

  /** Ticks every loaded row (or, when all are ticked, none). */
  toggleAll(): void {
    if (this.ids.length > 0 && this.ids.every((id) => this.selected.has(id))) this.selected.clear();
    else for (const id of this.ids) this.selected.add(id);
  }

  async reload(): Promise<void> {
    const gen = ++this.generation;
    this.loading = true;
    this.error = null;
    this.changedWhileLoading.clear();
    try {
      const page = await this.backend.listConversations(this.filter, null, PAGE_SIZE);
      if (gen !== this.generation) return;
      this.rows.clear();
      this.ids = [];
      this.append(page.items, page.next_cursor);
      // A reload (e.g. resync) keeps ticks only on rows that are still there.
      for (const id of [...this.selected]) if (!this.rows.has(id)) this.selected.delete(id);
      this.loaded = true;
    } catch (e) {
      if (gen === this.generation) {
        this.error = toBackendError(e).message;
        this.loaded = true;
      }
    } finally {
      if (gen === this.generation) this.finishLoading();
    }
    this.refreshCounts(0);
  }

  async loadMore(): Promise<void> {
    if (this.loading || !this.cursor) return;
    const gen = this.generation;
    this.loading = true;
    try {
      const page = await this.backend.listConversations(this.filter, this.cursor, PAGE_SIZE);
      if (gen !== this.generation) return;
      this.append(page.items, page.next_cursor);
    } catch (e) {
      if (gen === this.generation) this.error = toBackendError(e).message;
    } finally {
      if (gen === this.generation) this.finishLoading();
    }
  }

  private finishLoading(): void {
    this.loading = false;
    const replay = [...this.changedWhileLoading];
    this.changedWhileLoading.clear();
    for (const id of replay) void this.refresh(id);
  }

  private append(items: ConversationRow[], next: Cursor | null): void {
    const ids = this.ids.slice();
    for (const row of items) {
      // A live update may already have placed this row; the live copy is at least as new.
      if (this.rows.has(row.id)) continue;
      this.rows.set(row.id, row);
      ids.push(row.id);
    }
    this.cursor = next;
    this.hasMore = next !== null;
    this.ids = ids;
    this.version++;
  }

  /**
   * Re-fetches one conversation after a `conversation_changed` event and moves it to where it
   * now belongs. Resolves to the fresh row, `null` if it no longer exists, or `undefined` if the
   * answer was superseded or failed (callers then ignore it).
   */
  async refresh(id: number): Promise<ConversationRow | null | undefined> {
    if (this.loading) this.changedWhileLoading.add(id);
    const seq = (this.rowSeq.get(id) ?? 0) + 1;
    this.rowSeq.set(id, seq);
    let row: ConversationRow | null;
    try {
      row = await this.backend.getConversation(id);
    } catch (e) {
      if (toBackendError(e).code !== 'not_found') return undefined;
      row = null;
    }
    if (this.rowSeq.get(id) !== seq) return undefined;
    this.rowSeq.delete(id);
    this.apply(id, row);
    this.refreshCounts();
    return row;
  }

  /** Places (or removes) one row according to the current filter and sort order. */
  apply(id: number, row: ConversationRow | null): void {
    const ids = this.ids.slice();
    const old = ids.indexOf(id);
    if (old >= 0) ids.splice(old, 1);
    if (!row || !this.matches(row)) {
      this.rows.delete(id);
      this.selected.delete(id);
      if (old >= 0) {
        this.ids = ids;
        this.version++;
      }
      return;
    }
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.rows.get(ids[mid])!, row)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === ids.length && this.hasMore) {
      // Sorts past the loaded window; the page that covers it will bring it in.
      this.rows.delete(id);
    } else {
      this.rows.set(id, row);
      ids.splice(lo, 0, id);
    }
    this.ids = ids;
    this.version++;
  }

  /**
   * Counts are cheap but events come in bursts, so coalesce them: at most one refresh per
   * `delay`. A pending refresh is not pushed back by later events, or a steady stream of
   * messages (one every < 300 ms) would keep the counts from ever updating.
   */
  refreshCounts(delay = 300): void {
    if (this.countsTimer) {
      if (delay > 0) return;
      clearTimeout(this.countsTimer);
    }
    this.countsTimer = setTimeout(async () => {
      this.countsTimer = null;
      const seq = ++this.countsSeq;
      try {
        const counts = await this.backend.conversationCounts(this.inboxId);
        if (seq === this.countsSeq) this.counts = counts;
      } catch {
        // Keep the last counts; the list itself shows load errors.
      }
    }, delay);
  }

  indexOf(id: number | null): number {
    return id === null ? -1 : this.ids.indexOf(id);
  }
}
