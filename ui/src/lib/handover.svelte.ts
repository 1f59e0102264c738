// In-app notices that the bot handed a conversation to a person (`handed_over`). Each goes away
// by itself after a few seconds, unless the agent is pointing at it or has focus in it, or when
// dismissed. (Native notifications come later.)
import type { Backend, ConversationRow } from './backend';

export type Handover = {
  /** Stable id of this notice. */
  n: number;
  conversationId: number;
  /** The customer, once known. */
  contact: string | null;
  inbox: string | null;
};

/** How long a notice stays. */
export const HANDOVER_NOTICE_MS = 8000;
/** At most this many at once; the oldest goes first. */
const MAX_NOTICES = 3;

export class HandoverNotices {
  list = $state<Handover[]>([]);
  private n = 0;
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping; no view reads it
  private timers = new Map<number, ReturnType<typeof setTimeout>>();

  constructor(
    private backend: Backend,
    private rowOf: (id: number) => ConversationRow | undefined,
  ) {}

  /** A new hand-over: replaces an older notice about the same conversation. */
  add(conversationId: number): void {
    const n = ++this.n;
    const row = this.rowOf(conversationId);
    for (const old of this.list.filter((h) => h.conversationId === conversationId)) this.dismiss(old.n);
    const next = [...this.list, { n, conversationId, contact: row?.contact_name ?? null, inbox: row?.inbox_name ?? null }];
    for (const gone of next.slice(0, Math.max(0, next.length - MAX_NOTICES))) this.clearTimer(gone.n);
    this.list = next.slice(-MAX_NOTICES);
    this.arm(n);
    if (!row)
      this.backend.getConversation(conversationId).then(
        (r) => {
          const h = this.list.find((x) => x.n === n);
          if (h) {
            h.contact = r.contact_name;
            h.inbox = r.inbox_name;
          }
        },
        () => {
          // The notice still says what happened; the name is a nicety.
        },
      );
  }

  /** Pointer or focus inside: it stays until they leave. */
  hold(n: number): void {
    this.clearTimer(n);
  }

  /** They left: it goes after the full time again. */
  release(n: number): void {
    if (this.list.some((h) => h.n === n)) this.arm(n);
  }

  dismiss(n: number): void {
    this.clearTimer(n);
    this.list = this.list.filter((h) => h.n !== n);
  }

  /** The conversation is gone: so is its notice. */
  removeConversation(conversationId: number): void {
    for (const h of this.list.filter((x) => x.conversationId === conversationId)) this.dismiss(h.n);
  }

  stop(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private arm(n: number): void {
    this.clearTimer(n);
    this.timers.set(
      n,
      setTimeout(() => this.dismiss(n), HANDOVER_NOTICE_MS),
    );
  }

  private clearTimer(n: number): void {
    const timer = this.timers.get(n);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(n);
  }
}
