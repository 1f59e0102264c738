// Contacts: the people behind conversations, one per person across channels. The contacts page
// lists them a page at a time (searched by name, e-mail or phone as the agent types) beside the
// pairs the core thinks are one person; both are refetched on `contacts_changed`.
import type { Backend, Contact, ContactSummary, MergeSuggestion } from './backend';
import { toBackendError } from './backend';

/** Contacts fetched per page of the contacts page. */
export const CONTACTS_PAGE = 50;
/** Typing in a contact search waits this long before asking. */
export const CONTACT_SEARCH_DEBOUNCE_MS = 200;

/** What a row shows under the name: the e-mail, else the phone. */
export function contactLine(c: Contact): string {
  return [c.email, c.phone].filter(Boolean).join(' · ');
}

/** A contact's name in a sentence that names two of them: when both have the same name, each
 * gets its e-mail or phone (else its number) so the sentence still tells them apart. */
export function distinctName(c: Contact, other: Contact): string {
  if (c.name.trim().toLowerCase() !== other.name.trim().toLowerCase()) return c.name;
  return `${c.name} (${c.email ?? c.phone ?? `#${c.id}`})`;
}

export class ContactList {
  /** The search as typed; the list shows its results once the debounce has passed. */
  query = $state('');
  items = $state.raw<ContactSummary[]>([]);
  hasMore = $state(false);
  loading = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private latest: Promise<void> = Promise.resolve();

  constructor(private backend: Backend) {}

  /** Searches again a moment after the agent stops typing. */
  setQuery(query: string): void {
    this.query = query;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), CONTACT_SEARCH_DEBOUNCE_MS);
  }

  /** The first page for the current search. */
  reload(): Promise<void> {
    return this.settle(this.fetch(CONTACTS_PAGE, false));
  }

  /** After an edit or a merge: as many rows as are shown, so a long list keeps its place. */
  refresh(): Promise<void> {
    return this.settle(this.fetch(Math.min(500, Math.max(CONTACTS_PAGE, this.items.length)), false));
  }

  loadMore(): Promise<void> {
    if (this.loading || !this.hasMore) return Promise.resolve();
    return this.settle(this.fetch(CONTACTS_PAGE, true));
  }

  /** Resolves once the newest fetch (this one, or one started meanwhile, e.g. by
   * `contacts_changed`) has landed, so callers see the final list. */
  private async settle(p: Promise<void>): Promise<void> {
    this.latest = p;
    await p;
    while (this.latest !== p) {
      p = this.latest;
      await p;
    }
  }

  private async fetch(limit: number, more: boolean): Promise<void> {
    clearTimeout(this.timer);
    const seq = ++this.seq;
    this.loading = true;
    this.error = null;
    try {
      const offset = more ? this.items.length : 0;
      const page = await this.backend.listContacts(this.query.trim(), limit, offset);
      if (seq !== this.seq) return;
      if (more) {
        // Offsets shift when contacts change between pages: never show one twice.
        // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup, not state
        const seen = new Set(this.items.map((s) => s.contact.id));
        this.items = [...this.items, ...page.filter((s) => !seen.has(s.contact.id))];
      } else {
        this.items = page;
      }
      this.hasMore = page.length === limit;
    } catch (e) {
      if (seq === this.seq) this.error = toBackendError(e).message;
    } finally {
      if (seq === this.seq) {
        this.loading = false;
        this.loaded = true;
      }
    }
  }

  indexOf(id: number | null): number {
    return id === null ? -1 : this.items.findIndex((s) => s.contact.id === id);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

export class MergeSuggestionStore {
  list = $state.raw<MergeSuggestion[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  private seq = 0;
  private latest: Promise<void> = Promise.resolve();

  constructor(private backend: Backend) {}

  /** Refetches the pairs; resolves once the newest fetch has landed (see `ContactList.settle`). */
  async load(): Promise<void> {
    let p = this.fetch();
    this.latest = p;
    await p;
    while (this.latest !== p) {
      p = this.latest;
      await p;
    }
  }

  private async fetch(): Promise<void> {
    const seq = ++this.seq;
    try {
      const list = await this.backend.mergeSuggestions();
      if (seq !== this.seq) return;
      this.list = list;
      this.error = null;
    } catch (e) {
      if (seq === this.seq) this.error = toBackendError(e).message;
    } finally {
      if (seq === this.seq) this.loaded = true;
    }
  }
}
