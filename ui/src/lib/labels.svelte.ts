// Labels and agents: small lists the conversation header, the list filters, the bulk bar and
// Settings → Labels share. Both are refetched whole (they are short) on `labels_changed` and
// after assignments.
import type { Backend, Label } from './backend';
import { toBackendError } from './backend';

/** Colours offered for new labels, picked in turn so neighbours differ. */
export const LABEL_COLORS = ['#1f6feb', '#1a7f37', '#bf8700', '#cf222e', '#8250df', '#bc4c00', '#0a7ea4', '#d63384'] as const;

/** A colour for a new label: the first of the palette no label uses yet, else by name. */
export function suggestColor(existing: readonly Label[], name = ''): string {
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup, not state
  const used = new Set(existing.map((l) => l.color.toLowerCase()));
  const free = LABEL_COLORS.find((c) => !used.has(c));
  if (free) return free;
  const h = [...name].reduce((a, ch) => (a * 31 + ch.charCodeAt(0)) >>> 0, 7);
  return LABEL_COLORS[h % LABEL_COLORS.length];
}

/** `#rrggbb` at `alpha`, for a chip's tinted background that works on light and dark themes. */
export function tint(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return `rgb(136 136 136 / ${alpha})`;
  return `rgb(${parseInt(m[1], 16)} ${parseInt(m[2], 16)} ${parseInt(m[3], 16)} / ${alpha})`;
}

/** What unknown labels (e.g. one created by another device, before the list refetched) look like. */
export const DEFAULT_LABEL_COLOR = '#888888';

export class LabelStore {
  list = $state.raw<Label[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Name → colour, for chips. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- rebuilt whole with the list, never mutated
  readonly colors = $derived(new Map(this.list.map((l) => [l.name, l.color])));
  private seq = 0;

  constructor(private backend: Backend) {}

  colorOf(name: string): string {
    return this.colors.get(name) ?? DEFAULT_LABEL_COLOR;
  }

  has(name: string): boolean {
    return this.colors.has(name);
  }

  async load(): Promise<void> {
    const seq = ++this.seq;
    try {
      const list = await this.backend.listLabels();
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

export class AgentStore {
  /** The local agent ("me") first, then everyone conversations are assigned to. */
  list = $state.raw<string[]>([]);
  private seq = 0;

  constructor(private backend: Backend) {}

  /** The local agent, once known. */
  get me(): string | null {
    return this.list[0] ?? null;
  }

  async load(): Promise<void> {
    const seq = ++this.seq;
    try {
      const list = await this.backend.listAgents();
      if (seq === this.seq) this.list = list;
    } catch {
      // Keep the last list; assigning by typing a name still works.
    }
  }
}

/** "Ana Costa" → "AC", "ana" → "A": what a row shows for its assignee. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  const first = [...words[0]][0] ?? '';
  const last = words.length > 1 ? ([...words[words.length - 1]][0] ?? '') : '';
  return (first + last).toUpperCase();
}
