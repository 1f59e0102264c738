import type { Backend, InboxState, InboxView } from './backend';
import { toBackendError } from './backend';

export class InboxStore {
  list = $state<InboxView[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  private seq = 0;
  /**
   * The last live state pushed for each inbox, numbered in arrival order. Command answers and
   * events travel separately: an answer computed before an event can arrive after it, and must
   * not put the older state back (a new inbox would show "Starting" forever).
   */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping; no view reads it
  private live = new Map<number, { n: number; state: InboxState }>();
  private liveN = 0;

  constructor(private backend: Backend) {}

  byId(id: number): InboxView | undefined {
    return this.list.find((v) => v.inbox.id === id);
  }

  /** Reloads the list; resolves to the previous list so callers can see what changed. */
  async load(): Promise<InboxView[]> {
    const seq = ++this.seq;
    const startedAt = this.liveN;
    const before = $state.snapshot(this.list) as InboxView[];
    try {
      const list = await this.backend.listInboxes();
      if (seq !== this.seq) return before;
      // The live state may have arrived by event while this fetch was on its way; keep it.
      for (const v of list) {
        const l = this.live.get(v.inbox.id);
        if (l && l.n > startedAt) v.state = l.state;
      }
      this.list = list;
      this.error = null;
    } catch (e) {
      if (seq === this.seq) this.error = toBackendError(e).message;
    } finally {
      if (seq === this.seq) this.loaded = true;
    }
    return before;
  }

  /** Puts a freshly saved inbox in place without waiting for the `inboxes_changed` reload. */
  upsert(view: InboxView): void {
    // The saved view's state was computed before the worker's first events; any pushed state
    // is at least as new (a later change still arrives by event).
    const l = this.live.get(view.inbox.id);
    if (l) view = { ...view, state: l.state };
    const i = this.list.findIndex((v) => v.inbox.id === view.inbox.id);
    if (i >= 0) this.list[i] = view;
    else this.list.push(view);
  }

  remove(id: number): void {
    this.list = this.list.filter((v) => v.inbox.id !== id);
    this.live.delete(id);
  }

  setState(id: number, state: InboxState): void {
    this.live.set(id, { n: ++this.liveN, state });
    const v = this.list.find((x) => x.inbox.id === id);
    if (v) v.state = state;
  }
}
