import { getContext, setContext } from 'svelte';
import type {
  ActionOutcome,
  AppInfo,
  Backend,
  ChannelKind,
  Contact,
  ContactDetails,
  ContactInput,
  ConversationAction,
  CoreEvent,
  InboxView,
  Macro,
  MacroRun,
  StagedFile,
} from './backend';
import { toBackendError } from './backend';
import { BotStore } from './bot.svelte';
import { CannedStore } from './canned.svelte';
import { ContactList, MergeSuggestionStore } from './contacts.svelte';
import { OpenConversation } from './conversation.svelte';
import { ConversationList } from './conversations.svelte';
import { HandoverNotices } from './handover.svelte';
import { InboxStore } from './inboxes.svelte';
import { AgentStore, LabelStore } from './labels.svelte';
import { MacroStore } from './macros.svelte';
import { ReportStore } from './reports.svelte';
import { RuleStore } from './rules.svelte';

export type View = 'inbox' | 'contacts' | 'reports' | 'settings';

/** Two contacts the agent asked to merge (the merge dialog is open for them). */
export type MergeRequest = {
  a: Contact;
  b: Contact;
  /** Which one the dialog proposes to keep. */
  keep: number;
  /** Called once the merge is done, with the kept contact's id. */
  onmerged?: (keep: number) => void;
  /** Where focus goes when the dialog closes and what opened it is gone (default: the contact's
   * name in a contact panel). */
  returnFocus?: () => HTMLElement | null | undefined;
};

/** What the agent has prepared in a conversation's reply box but not sent yet. */
export type Draft = { text: string; note: boolean; files: StagedFile[] };

export type SettingsRoute =
  | { page: 'list' }
  | { page: 'pick' }
  | { page: 'form'; kind: ChannelKind; editId: number | null }
  | { page: 'detail'; id: number; justCreated: boolean }
  | { page: 'labels' }
  | { page: 'canned' }
  | { page: 'macros' }
  | { page: 'rules' };

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
  readonly labels: LabelStore;
  readonly agents: AgentStore;
  /** Canned responses, for the reply box's `/` suggestions and Settings → Canned responses. */
  readonly canned: CannedStore;
  /** Macros, for the header's and the bulk bar's "Run macro" menus and Settings → Macros. */
  readonly macros: MacroStore;
  /** Automation rules, for Settings → Automation. */
  readonly rules: RuleStore;
  /** Each inbox's greeting, business hours and bot, for its settings page. */
  readonly bots: BotStore;
  /** "The bot handed a conversation to you" notices. */
  readonly handovers: HandoverNotices;
  /** An action from the conversation header is running. */
  acting = $state(false);
  /** The contacts page: the list, the merge suggestions, and the contact shown beside them. */
  readonly contacts: ContactList;
  readonly suggestions: MergeSuggestionStore;
  contactId = $state<number | null>(null);
  /** The contact panel beside an open conversation is shown (it stays so from one to the next). */
  contactPanelOpen = $state(false);
  /** Bumped when contacts change (edit, merge, `contacts_changed`): open contact views refetch. */
  contactsVersion = $state(0);
  /** The reports page: its period, inbox and figures (kept while other pages are shown). */
  readonly reports: ReportStore;
  /** The merge confirmation, when open. */
  merging = $state<MergeRequest | null>(null);
  /** The keyboard shortcuts cheat sheet is open. */
  shortcutsOpen = $state(false);
  private unlisten: (() => void) | null = null;

  constructor(readonly backend: Backend) {
    this.inboxes = new InboxStore(backend);
    this.list = new ConversationList(backend);
    this.open = new OpenConversation(backend);
    this.labels = new LabelStore(backend);
    this.agents = new AgentStore(backend);
    this.canned = new CannedStore(backend);
    this.macros = new MacroStore(backend);
    this.rules = new RuleStore(backend);
    this.bots = new BotStore(backend);
    this.contacts = new ContactList(backend);
    this.suggestions = new MergeSuggestionStore(backend);
    this.reports = new ReportStore(backend);
    this.handovers = new HandoverNotices(backend, (id) => this.list.rows.get(id) ?? (this.open.id === id ? (this.open.row ?? undefined) : undefined));
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
    void this.labels.load();
    void this.agents.load();
    void this.canned.load();
    void this.macros.load();
    void this.rules.load();
    await Promise.all([this.inboxes.load(), this.list.reload()]);
  }

  stop(): void {
    this.unlisten?.();
    this.handovers.stop();
    this.contacts.stop();
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
      case 'conversation_removed':
        this.conversationRemoved(e.conversation_id);
        break;
      case 'labels_changed':
        void this.onLabelsChanged();
        break;
      case 'canned_responses_changed':
        void this.canned.load();
        break;
      case 'macros_changed':
        void this.macros.load();
        break;
      case 'rules_changed':
        void this.rules.load();
        break;
      case 'bot_settings_changed':
        this.bots.changed(e.inbox_id);
        break;
      case 'handed_over':
        this.handovers.add(e.conversation_id);
        break;
      case 'contacts_changed':
        this.contactsChanged();
        break;
      case 'resync':
        void this.inboxes.load();
        void this.labels.load();
        void this.agents.load();
        void this.canned.load();
        void this.macros.load();
        void this.rules.load();
        this.bots.reloadAll();
        this.contactsChanged();
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
    for (const v of before) {
      if (now.has(v.inbox.id)) continue;
      this.bots.forget(v.inbox.id);
      this.reports.forgetInbox(v.inbox.id);
    }
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
    this.bots.forget(id);
    if (this.open.row?.inbox_id === id) {
      this.open.close();
      this.selectedId = null;
    }
    if (this.list.inboxId === id) this.list.setInbox(null);
    else void this.list.reload();
    this.settings = { page: 'list' };
  }

  private async onLabelsChanged(): Promise<void> {
    await this.labels.load();
    // A filter on a label that no longer exists would show nothing, forever.
    if (this.list.label !== null && this.labels.loaded && !this.labels.error && !this.labels.has(this.list.label))
      this.list.setLabel(null);
  }

  /** Deleted (here or by another process): out of the list, and out of the pane if it is open. */
  conversationRemoved(id: number): void {
    this.handovers.removeConversation(id);
    this.list.apply(id, null);
    this.list.refreshCounts();
    if (this.open.id === id) {
      this.open.close();
      this.selectedId = null;
    }
    if (this.selectedId === id) this.selectedId = null;
  }

  /**
   * Applies an action to conversations; resolves to what happened to each (throws a
   * BackendError when the core refuses the whole call, e.g. a snooze time in the past). The
   * `conversation_changed` events bring the new rows; a single conversation is refetched at once
   * so the header answers without waiting for them.
   */
  async act(ids: number[], action: ConversationAction): Promise<ActionOutcome[]> {
    const outcomes = await this.backend.applyAction(ids, action);
    const done = outcomes.filter((o) => o.error === null).map((o) => o.conversation_id);
    if (action.action === 'delete') for (const id of done) this.conversationRemoved(id);
    else if (done.length === 1) {
      const id = done[0];
      void this.list.refresh(id).then((row) => {
        if (row !== undefined) this.open.onRow(id, row);
      });
    }
    // Counts per label change with every add or remove; the core only signals new labels.
    if (action.action === 'add_label' || action.action === 'remove_label') void this.labels.load();
    if (action.action === 'assign') void this.agents.load();
    return outcomes;
  }

  /**
   * Runs a macro on conversations; resolves to what each step did, per conversation (throws a
   * BackendError when the core refuses the whole call, e.g. the macro is gone). Like `act`, a
   * single conversation is refetched at once; labels and agents are refreshed when steps touch them.
   */
  async runMacro(macro: Macro, ids: number[]): Promise<MacroRun[]> {
    const runs = await this.backend.runMacro(macro.id, ids);
    if (ids.length === 1) {
      const id = ids[0];
      void this.list.refresh(id).then((row) => {
        if (row !== undefined) this.open.onRow(id, row);
      });
    }
    const actions = macro.steps.flatMap((s) => (s.step === 'action' ? [s.action.action] : []));
    if (actions.includes('add_label') || actions.includes('remove_label')) void this.labels.load();
    if (actions.includes('assign')) void this.agents.load();
    return runs;
  }

  /** An action on the open conversation; failures show in the header. Resolves to whether it worked. */
  async actOnOpen(action: ConversationAction): Promise<boolean> {
    const id = this.open.id;
    if (id === null || this.acting) return false;
    this.acting = true;
    this.open.actionError = null;
    try {
      const [outcome] = await this.act([id], action);
      if (outcome?.error) {
        if (id === this.open.id) this.open.actionError = outcome.error;
        return false;
      }
      return true;
    } catch (e) {
      if (id === this.open.id) this.open.actionError = toBackendError(e).message;
      return false;
    } finally {
      this.acting = false;
    }
  }

  /** The local agent's name ("me"), loading the agents if need be. */
  async me(): Promise<string | null> {
    if (!this.agents.me) await this.agents.load();
    return this.agents.me ?? this.info?.agent_name ?? null;
  }

  /** The `a` shortcut and the header's "Assign to me". */
  async assignToMe(): Promise<void> {
    if (this.open.id === null) return;
    const me = await this.me();
    if (me) await this.actOnOpen({ action: 'assign', agent: me });
  }

  /** Marks the open conversation unread and closes it, so it stays unread (opening reads it). */
  async markUnread(): Promise<void> {
    const id = this.open.id;
    if (id === null) return;
    this.open.keepUnread(id);
    const ok = await this.actOnOpen({ action: 'mark_unread' });
    if (ok && this.open.id === id) {
      this.open.close();
      if (this.selectedId === id) this.selectedId = null;
    } else {
      this.open.keepUnread(null);
    }
  }

  /** Shows a conversation from elsewhere in the app (a notice): the inbox view, with it open. */
  openConversation(id: number): void {
    this.view = 'inbox';
    this.select(id);
    this.revealToken++;
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

  /** The contacts page, with a contact shown when `id` is given. */
  showContacts(id?: number): void {
    this.view = 'contacts';
    if (id !== undefined) this.contactId = id;
  }

  selectContact(id: number): void {
    this.contactId = id;
  }

  /** j/k on the contacts page: moves the shown contact through the list. */
  stepContact(delta: number): void {
    const items = this.contacts.items;
    if (!items.length) return;
    const i = this.contacts.indexOf(this.contactId);
    const next = i < 0 ? 0 : Math.min(items.length - 1, Math.max(0, i + delta));
    this.contactId = items[next].contact.id;
    if (next >= items.length - 1) void this.contacts.loadMore();
  }

  /** Contacts changed somewhere: refetch what is shown of them. */
  contactsChanged(): void {
    this.contactsVersion++;
    if (this.contacts.loaded) void this.contacts.refresh();
    if (this.suggestions.loaded) void this.suggestions.load();
  }

  /** Conversation rows carry the contact's name: refetch the ones on screen of these conversations. */
  private refreshRows(ids: Iterable<number>): void {
    for (const id of ids) {
      if (!this.list.rows.has(id) && this.open.id !== id) continue;
      void this.list.refresh(id).then((row) => {
        if (row !== undefined) this.open.onRow(id, row);
      });
    }
  }

  /** Saves an edit of a contact; throws a BackendError (with the core's field errors) on refusal. */
  async saveContact(id: number, input: ContactInput): Promise<Contact> {
    const contact = await this.backend.updateContact(id, input);
    const ids = [...this.list.rows.values()].filter((r) => r.contact_id === id).map((r) => r.id);
    if (this.open.row?.contact_id === id) ids.push(this.open.row.id);
    this.refreshRows(ids);
    this.contactsChanged();
    return contact;
  }

  /** Opens the merge confirmation for two contacts. */
  askMerge(a: Contact, b: Contact, options: Omit<MergeRequest, 'a' | 'b' | 'keep'> & { keep?: number } = {}): void {
    if (a.id === b.id) return;
    this.shortcutsOpen = false;
    this.merging = { ...options, a, b, keep: options.keep ?? a.id };
  }

  /**
   * Merges `other` into `keep` (throws a BackendError when the core refuses), then shows the result
   * everywhere before resolving: the lists no longer hold `other`, the contacts page shows `keep`
   * where it showed `other`, and conversation rows carry the kept name (the core's
   * `conversation_changed` and `contacts_changed` events follow too).
   */
  async mergeContacts(keep: number, other: number): Promise<ContactDetails> {
    const details = await this.backend.mergeContacts(keep, other);
    if (this.contactId === other) this.contactId = keep;
    this.refreshRows(details.conversations.map((c) => c.id));
    this.contactsVersion++;
    await Promise.all([this.contacts.loaded ? this.contacts.refresh() : null, this.suggestions.loaded ? this.suggestions.load() : null]);
    return details;
  }

  /** Closes whichever modal dialog is open (Escape when focus is somewhere else). */
  closeModal(): void {
    this.merging = null;
    this.shortcutsOpen = false;
  }

  /** Opens the keyboard shortcuts cheat sheet. */
  showShortcuts(): void {
    if (!this.merging) this.shortcutsOpen = true;
  }

  /** The reports page (it loads its figures when shown). */
  showReports(): void {
    this.view = 'reports';
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
