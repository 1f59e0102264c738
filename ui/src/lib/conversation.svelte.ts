// The conversation open in the right pane: its row (kept even when the list's filter hides it,
// e.g. just resolved while on the Open tab) and its messages.
import type { Backend, ConversationRow, Message, StagedFile } from './backend';
import { toBackendError } from './backend';
import type { MacroOutcome } from './macros.svelte';

export class OpenConversation {
  id = $state<number | null>(null);
  row = $state<ConversationRow | null>(null);
  messages = $state.raw<Message[]>([]);
  loading = $state(false);
  error = $state<string | null>(null);
  gone = $state(false);
  actionError = $state<string | null>(null);
  /** The last macro run on this conversation from the header, until dismissed or another opens. */
  macroResult = $state<MacroOutcome | null>(null);

  private seq = 0;
  /** While "mark as unread" runs, what arrives must not mark the conversation read again. */
  private holdRead: number | null = null;
  private fetching = false;
  private refetch = false;

  constructor(private backend: Backend) {}

  open(id: number, row: ConversationRow | null): void {
    if (id === this.id) return;
    const seq = ++this.seq;
    this.holdRead = null;
    this.id = id;
    this.row = row;
    this.messages = [];
    this.error = null;
    this.actionError = null;
    this.macroResult = null;
    this.gone = false;
    this.loading = true;
    this.fetching = false;
    this.refetch = false;
    if (!row) {
      this.backend.getConversation(id).then(
        (r) => {
          if (seq === this.seq) this.row = r;
        },
        (e) => {
          if (seq === this.seq && toBackendError(e).code === 'not_found') this.gone = true;
        },
      );
    }
    void this.loadMessages(seq);
    this.backend.markRead(id).catch(() => {
      // Unread state is cosmetic; a failure here must not block reading.
    });
  }

  close(): void {
    this.seq++;
    this.id = null;
    this.row = null;
    this.macroResult = null;
    this.messages = [];
  }

  /** Coalesces bursts of `message_changed` into at most one fetch in flight plus one queued. */
  private async loadMessages(seq = this.seq): Promise<void> {
    const id = this.id;
    if (id === null) return;
    if (this.fetching) {
      this.refetch = true;
      return;
    }
    this.fetching = true;
    try {
      const msgs = await this.backend.listMessages(id);
      if (seq !== this.seq) return;
      this.messages = msgs;
      this.error = null;
    } catch (e) {
      if (seq !== this.seq) return;
      const err = toBackendError(e);
      if (err.code === 'not_found') this.gone = true;
      else this.error = err.message;
    } finally {
      if (seq === this.seq) {
        this.loading = false;
        this.fetching = false;
        if (this.refetch) {
          this.refetch = false;
          void this.loadMessages(seq);
        }
      }
    }
  }

  reload(): void {
    void this.loadMessages();
  }

  onMessageChanged(conversationId: number): void {
    if (conversationId === this.id) void this.loadMessages();
  }

  onRow(id: number, row: ConversationRow | null): void {
    if (id !== this.id) return;
    if (!row) {
      this.gone = true;
      return;
    }
    this.row = row;
    this.gone = false;
    // The agent is looking at it, so what just arrived is read.
    if (row.unread_count > 0 && this.holdRead !== id && document.visibilityState === 'visible' && document.hasFocus()) {
      this.backend.markRead(id).catch(() => {});
    }
  }

  /** Sends a reply or note with its staged files; throws (text and files stay in the box) on failure. */
  async send(id: number, content: string, priv: boolean, files: StagedFile[] = []): Promise<void> {
    const msg = await this.backend.sendMessage(id, content, priv, files);
    if (id === this.id && !this.messages.some((m) => m.id === msg.id)) this.messages = [...this.messages, msg];
  }

  /** Sends an approved WhatsApp template with its parameters; throws (a BackendError, e.g. on
   * field "template" or "parameters") when the core refuses. Shown at once, like a reply. */
  async sendTemplate(id: number, name: string, language: string, parameters: string[]): Promise<void> {
    const msg = await this.backend.sendTemplate(id, name, language, parameters);
    if (id === this.id && !this.messages.some((m) => m.id === msg.id)) this.messages = [...this.messages, msg];
  }

  /** Changes one of the local agent's private notes; throws (a BackendError) when the core refuses.
   * The thread shows the new text at once; `message_changed` refetches it anyway. */
  async editNote(messageId: number, content: string): Promise<void> {
    const msg = await this.backend.editNote(messageId, content);
    if (msg.conversation_id === this.id) this.messages = this.messages.map((m) => (m.id === msg.id ? msg : m));
  }

  /** Deletes one of the local agent's private notes; throws when the core refuses. */
  async deleteNote(messageId: number): Promise<void> {
    const id = this.id;
    await this.backend.deleteNote(messageId);
    if (id === this.id) this.messages = this.messages.filter((m) => m.id !== messageId);
  }

  async retry(messageId: number): Promise<void> {
    this.actionError = null;
    try {
      await this.backend.retryMessage(messageId);
      // Show "queued" right away; the message_changed event brings the real state.
      this.messages = this.messages.map((m) => (m.id === messageId ? { ...m, delivery: 'queued', error: null } : m));
    } catch (e) {
      this.actionError = toBackendError(e).message;
    }
  }

  /** Keeps `id` unread while it is open (see `holdRead`); `null` lets go. */
  keepUnread(id: number | null): void {
    this.holdRead = id;
  }
}
