// Canned responses: saved replies an agent inserts by typing `/code` in the reply box (Settings →
// Canned responses manages them). The list is short, so it is refetched whole on
// `canned_responses_changed` and `resync`.
import type { Backend, CannedResponse } from './backend';
import { toBackendError } from './backend';

export class CannedStore {
  /** By short code, as the core lists them. */
  list = $state.raw<CannedResponse[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  private seq = 0;
  private latest: Promise<void> = Promise.resolve();

  constructor(private backend: Backend) {}

  /** Refetches the list; resolves once the newest fetch (this one, or one started meanwhile,
   * e.g. by `canned_responses_changed`) has landed, so callers see the final order. */
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
      const list = await this.backend.listCannedResponses();
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

/** The characters of a short code (the core stores them lowercase). */
const CODE_CHAR = /[a-z0-9_-]/i;

/** A `/code` being typed: `text.slice(start, end)` is the whole token, slash included; `query`
 * is what was typed between the slash and the caret, lowercased. */
export type SlashToken = { start: number; end: number; query: string };

/**
 * The `/code` token at the caret, if any: a "/" at the start of the text or of a line, or after
 * whitespace, followed by at least one short-code character, with the caret inside or right
 * after it. "and/or", a lone "/" and "/ " are not tokens.
 */
export function slashTokenAt(text: string, caret: number): SlashToken | null {
  if (caret < 0 || caret > text.length) return null;
  let i = caret;
  while (i > 0 && CODE_CHAR.test(text[i - 1])) i--;
  if (i === caret || i === 0 || text[i - 1] !== '/') return null;
  const slash = i - 1;
  if (slash > 0 && !/\s/.test(text[slash - 1])) return null;
  let end = caret;
  while (end < text.length && CODE_CHAR.test(text[end])) end++;
  return { start: slash, end, query: text.slice(i, caret).toLowerCase() };
}

/** Lowercase and without accents, so "reembolso" finds "Reembólso". */
const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/** Typed after "/", this much also searches the responses' text (one letter would match nearly all). */
const CONTENT_MATCH_MIN = 2;

/** The responses a `/query` suggests: those whose short code starts with it (by code), then, from
 * two characters on, those whose text contains it (accents and case aside). */
export function matchCanned(list: readonly CannedResponse[], query: string, limit = 8): CannedResponse[] {
  const q = query.toLowerCase();
  const byCode = list.filter((r) => r.short_code.startsWith(q));
  const f = fold(q);
  const byContent =
    f.length >= CONTENT_MATCH_MIN ? list.filter((r) => !r.short_code.startsWith(q) && fold(r.content).includes(f)) : [];
  return [...byCode, ...byContent].slice(0, limit);
}

/** The first line of a response that has text: what lists show next to its code. */
export function firstLine(content: string): string {
  return (
    content
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find(Boolean) ?? ''
  );
}

/** `value` with `snippet` in place of `[start, end)`, and where the caret goes after it. */
export function replaceRange(value: string, start: number, end: number, snippet: string): { value: string; caret: number } {
  return { value: value.slice(0, start) + snippet + value.slice(end), caret: start + snippet.length };
}
