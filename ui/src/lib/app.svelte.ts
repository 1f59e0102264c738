import { getContext, setContext } from 'svelte';
import type { AppInfo, Backend, ChannelKind, CoreEvent, InboxView, StagedFile } from './backend';
import { toBackendError } from './backend';
import { OpenConversation } from './conversation.svelte';
import { ConversationList } from './conversations.svelte';
import { InboxStore } from './inboxes.svelte';

export type View = 'inbox' | 'settings';

/** What the agent has prepared in a conversation's reply box but not sent yet. */
export type Draft = { text: string; note: boolean; files: StagedFile[] };

export type SettingsRoute =
  | { page: 'list' }
  | { page: 'pick' }
  | { page: 'form'; kind: ChannelKind; editId: number | null }
  | { page: 'detail'; id: number; justCreated: boolean };

export class AppState {
  view = $state<View>('inbox');
  settings = $state<SettingsRoute>({ page: 'list' });
  info = $state<AppInfo | null>(null);
  infoError = $state<string | null>(null);
  selectedId = $state<number | null>(null);
  /** Bumped when keyboard navigation needs the list to scroll the selection into view. */
  revealToken = $state(0);
  /** Unsent text and staged files per conversation: switching conversations never loses what was
   * typed or picked. */
  // Read once per ReplyBox mount, never rendered: a plain Map is enough.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly drafts = new Map<number, Draft>();

  readonly inboxes: InboxStore;
  readonly list: ConversationList;
  readonly open: OpenConversation;
  private unlisten: (() => void) | null = null;

  constructor(readonly backend: Backend) {
    this.inboxes = new InboxStore(backend);
    this.list = new ConversationList(backend);
    this.open = new OpenConversation(backend);
  }

  /** Subscribes first, then loads, so no change between the two is missed. */
  async start(): Promise<void> {
    try {
      this.unlisten = await this.backend.onEvent((e) => this.onEvent(e));
    } catch (e) {
      console.error('event subscription failed', e);
    }
    this.backend.appInfo().then(
      (info) => (this.info = info),
      (e) => (this.infoError = toBackendError(e).message),
    );
    await Promise.all([this.inboxes.load(), this.list.reload()]);
  }

  stop(): void {
    this.unlisten?.();
  }

  private onEvent(e: CoreEvent): void {
    switch (e.type) {
      case 'inboxes_changed':
        void this.onInboxesChanged();
        break;
      case 'inbox_state_changed':
        this.inboxes.setState(e.inbox_id, e.state);
        break;
      case 'conversation_changed':
        void this.list.refresh(e.conversation_id).then((row) => {
          if (row !== undefined) this.open.onRow(e.conversation_id, row);
        });
        break;
      case 'message_changed':
        this.open.onMessageChanged(e.conversation_id);
        break;
      case 'resync':
        void this.inboxes.load();
        void this.list.reload();
        this.open.reload();
        if (this.open.id !== null) void this.list.refresh(this.open.id).then((row) => row !== undefined && this.open.onRow(this.open.id!, row));
        break;
    }
  }

  private async onInboxesChanged(): Promise<void> {
    const before = await this.inboxes.load();
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup, not state
    const now = new Map(this.inboxes.list.map((v) => [v.inbox.id, v.inbox.name]));
    // Rows carry the inbox name, and a deleted inbox takes its conversations with it.
    const stale = before.some((v) => now.get(v.inbox.id) !== v.inbox.name);
    if (this.list.inboxId !== null && !now.has(this.list.inboxId)) this.list.setInbox(null);
    else if (stale) void this.list.reload();
    if (stale) this.list.refreshCounts(0);
    const route = this.settings;
    if (route.page === 'detail' && !now.has(route.id) && before.some((v) => v.inbox.id === route.id))
      this.settings = { page: 'list' };
  }

  /** After add/update: show it at once, and refresh rows if they carry a stale inbox name. */
  inboxSaved(view: InboxView, previous: InboxView | null): void {
    this.inboxes.upsert(view);
    if (previous && previous.inbox.name !== view.inbox.name) void this.list.reload();
    this.settings = { page: 'detail', id: view.inbox.id, justCreated: previous === null };
  }

  /** Its conversations went with it: drop them from the list and the pane. */
  inboxDeleted(id: number): void {
    this.inboxes.remove(id);
    if (this.open.row?.inbox_id === id) {
      this.open.close();
      this.selectedId = null;
    }
    if (this.list.inboxId === id) this.list.setInbox(null);
    else void this.list.reload();
    this.settings = { page: 'list' };
  }

  select(id: number): void {
    this.selectedId = id;
    this.open.open(id, this.list.rows.get(id) ?? null);
  }

  /** j/k: moves the selection through the list as it is currently ordered. */
  step(delta: number): void {
    const ids = this.list.ids;
    if (!ids.length) return;
    const i = this.list.indexOf(this.selectedId);
    const next = i < 0 ? 0 : Math.min(ids.length - 1, Math.max(0, i + delta));
    if (ids[next] !== this.selectedId) this.select(ids[next]);
    this.revealToken++;
    if (next > ids.length - 10) void this.list.loadMore();
  }

  showInbox(): void {
    this.view = 'inbox';
  }

  showSettings(route: SettingsRoute = { page: 'list' }): void {
    this.view = 'settings';
    this.settings = route;
  }
}

const KEY = Symbol('app');

export function provideApp(app: AppState): void {
  setContext(KEY, app);
}

export function useApp(): AppState {
  return getContext<AppState>(KEY);
}
