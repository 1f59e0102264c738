// Macros: named lists of steps run on conversations with one click (the conversation header's
// "Run macro" menu, the bulk bar; Settings → Macros manages them). The list is short, so it is
// refetched whole on `macros_changed` and `resync`.
import type { Backend, ConversationStatus, Macro, MacroStep, Priority } from './backend';
import { toBackendError } from './backend';
import { shortDateTime } from './format';
import { t, type MessageKey } from './i18n';
import { PRIORITY_LABEL } from './priority';

export class MacroStore {
  /** By name, as the core lists them. */
  list = $state.raw<Macro[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  private seq = 0;

  constructor(private backend: Backend) {}

  async load(): Promise<void> {
    const seq = ++this.seq;
    try {
      const list = await this.backend.listMacros();
      if (seq !== this.seq) return;
      this.list = list;
      this.error = null;
    } catch (e) {
      if (seq === this.seq) this.error = toBackendError(e).message;
    } finally {
      if (seq === this.seq) this.loaded = true;
    }
  }

  /** Shows a macro the core just saved at once (the list is by name), before `macros_changed`
   * refetches all, so the page can put focus on it. */
  upsert(macro: Macro): void {
    this.seq++;
    this.list = [...this.list.filter((m) => m.id !== macro.id), macro].sort((a, b) =>
      a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }),
    );
  }
}

/** What the step editor offers, one choice per kind of step (actions flattened). */
export const STEP_KINDS = [
  'send_message',
  'add_note',
  'set_status',
  'snooze_for',
  'snooze_until_reply',
  'assign',
  'set_priority',
  'add_label',
  'remove_label',
  'mute',
  'mark_unread',
] as const;
/** Automation rules also offer running a macro (a macro cannot run another one). */
export const RULE_STEP_KINDS = [...STEP_KINDS, 'run_macro'] as const;
export type StepKind = (typeof RULE_STEP_KINDS)[number];

export const STEP_KIND_LABEL: Record<StepKind, MessageKey> = {
  send_message: 'macroStep.send_message',
  add_note: 'macroStep.add_note',
  set_status: 'macroStep.set_status',
  snooze_for: 'macroStep.snooze_for',
  snooze_until_reply: 'macroStep.snooze_until_reply',
  assign: 'macroStep.assign',
  set_priority: 'macroStep.set_priority',
  add_label: 'macroStep.add_label',
  remove_label: 'macroStep.remove_label',
  mute: 'macroStep.mute',
  mark_unread: 'macroStep.mark_unread',
  run_macro: 'macroStep.run_macro',
};

/** The statuses a step can set (snoozing has steps of its own). */
export const STEP_STATUSES: readonly ConversationStatus[] = ['open', 'pending', 'resolved'];

/** One step as the form edits it: every kind's fields, so switching kinds keeps what was typed. */
export type DraftStep = {
  /** Stable across moves, for keyed lists and element ids. */
  key: number;
  kind: StepKind;
  text: string;
  status: ConversationStatus;
  minutes: number | null;
  agent: string;
  priority: Priority;
  label: string;
  muted: boolean;
  /** `run_macro`: the macro to run (null until one is picked). */
  macroId: number | null;
};

let nextKey = 1;

export function blankStep(kind: StepKind = 'send_message'): DraftStep {
  return { key: nextKey++, kind, text: '', status: 'resolved', minutes: 60, agent: '', priority: 'high', label: '', muted: true, macroId: null };
}

/** A saved step, ready to edit. (`delete` and fixed-time snoozes cannot be saved; shown as their
 * nearest editable kind.) */
export function draftOf(step: MacroStep): DraftStep {
  const d = blankStep();
  switch (step.step) {
    case 'send_message':
    case 'add_note':
      return { ...d, kind: step.step, text: step.text };
    case 'snooze_for':
      return { ...d, kind: 'snooze_for', minutes: step.minutes };
    case 'run_macro':
      return { ...d, kind: 'run_macro', macroId: step.macro_id };
  }
  const a = step.action;
  switch (a.action) {
    case 'set_status':
      return { ...d, kind: 'set_status', status: a.status };
    case 'snooze':
      return { ...d, kind: 'snooze_until_reply' };
    case 'assign':
      return { ...d, kind: 'assign', agent: a.agent ?? '' };
    case 'set_priority':
      return { ...d, kind: 'set_priority', priority: a.priority };
    case 'add_label':
    case 'remove_label':
      return { ...d, kind: a.action, label: a.label };
    case 'mute':
      return { ...d, kind: 'mute', muted: a.muted };
    case 'mark_unread':
    case 'delete':
      return { ...d, kind: 'mark_unread' };
  }
}

/** What the core is sent for a step of the form. */
export function stepOf(d: DraftStep): MacroStep {
  switch (d.kind) {
    case 'send_message':
    case 'add_note':
      return { step: d.kind, text: d.text };
    case 'snooze_for':
      return { step: 'snooze_for', minutes: d.minutes ?? 0 };
    case 'snooze_until_reply':
      return { step: 'action', action: { action: 'snooze', until: null } };
    case 'set_status':
      return { step: 'action', action: { action: 'set_status', status: d.status } };
    case 'assign':
      return { step: 'action', action: { action: 'assign', agent: d.agent.trim() || null } };
    case 'set_priority':
      return { step: 'action', action: { action: 'set_priority', priority: d.priority } };
    case 'add_label':
    case 'remove_label':
      return { step: 'action', action: { action: d.kind, label: d.label.trim() } };
    case 'mute':
      return { step: 'action', action: { action: 'mute', muted: d.muted } };
    case 'mark_unread':
      return { step: 'action', action: { action: 'mark_unread' } };
    case 'run_macro':
      return { step: 'run_macro', macro_id: d.macroId ?? 0 };
  }
}

/** What the form can tell about a step before asking the core (null: fine). */
export function checkStep(d: DraftStep): string | null {
  switch (d.kind) {
    case 'send_message':
    case 'add_note':
      return d.text.trim() ? null : t('macroPage.textRequired');
    case 'snooze_for':
      return d.minutes !== null && Number.isInteger(d.minutes) && d.minutes >= 1 ? null : t('macroPage.minutesRequired');
    case 'add_label':
    case 'remove_label':
      return d.label.trim() ? null : t('macroPage.labelRequired');
    case 'run_macro':
      return d.macroId !== null ? null : t('macroPage.macroRequired');
    default:
      return null;
  }
}

/** "1 h 30 min", "2 d", "45 min". */
export function duration(minutes: number): string {
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const parts = [d ? t('macroSummary.days', { n: d }) : '', h ? t('macroSummary.hours', { n: h }) : '', m ? t('macroSummary.minutes', { n: m }) : ''];
  return parts.filter(Boolean).join(' ') || t('macroSummary.minutes', { n: 0 });
}

/** The first line of a text, cut short for one-line summaries. */
function short(text: string, max = 40): string {
  const line =
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find(Boolean) ?? '';
  return [...line].length > max ? [...line].slice(0, max - 1).join('') + '…' : line;
}

/** One line saying what a step does: "Send “Obrigado, {{contact.first_name}}!”", "Status: Resolved".
 * (A rule's `run_macro` step names its macro with `describeRuleStep` in rules.svelte.ts.) */
export function describeStep(step: MacroStep): string {
  switch (step.step) {
    case 'run_macro':
      return t('macroSummary.run_macro_any');
    case 'send_message':
      return t('macroSummary.send_message', { text: short(step.text) });
    case 'add_note':
      return t('macroSummary.add_note', { text: short(step.text) });
    case 'snooze_for':
      return t('macroSummary.snooze_for', { duration: duration(step.minutes) });
  }
  const a = step.action;
  switch (a.action) {
    case 'set_status':
      return t('macroSummary.set_status', { status: t(`status.${a.status}`) });
    case 'snooze':
      return a.until === null ? t('macroSummary.snooze_until_reply') : t('macroSummary.snooze_at', { time: shortDateTime(a.until, Date.now()) });
    case 'assign':
      return a.agent === null ? t('macroSummary.unassign') : t('macroSummary.assign', { agent: a.agent });
    case 'set_priority':
      return t('macroSummary.set_priority', { priority: t(PRIORITY_LABEL[a.priority]) });
    case 'add_label':
      return t('macroSummary.add_label', { label: a.label });
    case 'remove_label':
      return t('macroSummary.remove_label', { label: a.label });
    case 'mute':
      return a.muted ? t('macroSummary.mute') : t('macroSummary.unmute');
    case 'mark_unread':
      return t('macroSummary.mark_unread');
    case 'delete':
      return t('macroSummary.delete');
  }
}

/** How one conversation's run went, step by step, for the header's and the bulk bar's reports. */
export type StepReport = { description: string; state: 'done' | 'failed' | 'skipped'; error: string | null };

export function reportRun(macro: Macro, outcomes: readonly { error: string | null }[]): StepReport[] {
  return macro.steps.map((s, i) => {
    const o = outcomes[i];
    return {
      description: describeStep(s),
      state: o === undefined ? 'skipped' : o.error === null ? 'done' : 'failed',
      error: o?.error ?? null,
    };
  });
}

/** What running a macro on the open conversation did, for the header's report. `error`: the core
 * refused the whole run (nothing ran). */
export type MacroOutcome = { name: string; completed: boolean; steps: StepReport[]; error: string | null };
