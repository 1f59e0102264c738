import type { Backend, InboxState, InboxView } from './backend';
import { toBackendError } from './backend';

export class InboxStore {
  list = $state<InboxView[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  private seq = 0;

  constructor(private backend: Backend) {}

  byId(id: number): InboxView | undefined {
    return this.list.find((v) => v.inbox.id === id);
  }

  /** Reloads the list; resolves to the previous list so callers can see what changed. */
  async load(): Promise<InboxView[]> {
    const seq = ++this.seq;
    const before = $state.snapshot(this.list) as InboxView[];
    try {
      const list = await this.backend.listInboxes();
      if (seq !== this.seq) return before;
      // The live state may have arrived by event before this fetch answered; keep the newer.
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
    const i = this.list.findIndex((v) => v.inbox.id === view.inbox.id);
    if (i >= 0) this.list[i] = view;
    else this.list.push(view);
  }

  remove(id: number): void {
    this.list = this.list.filter((v) => v.inbox.id !== id);
  }

  setState(id: number, state: InboxState): void {
    const v = this.list.find((x) => x.inbox.id === id);
    if (v) v.state = state;
  }
}
