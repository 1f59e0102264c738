// Automation rules: on an event (a new conversation, a customer message, a change), when every
// condition holds, their actions (macro steps, or a whole macro) run; rules run in their saved
// order (Settings → Automation manages them). The list is short, so it is refetched whole on
// `rules_changed` and `resync`.
import type { AutomationRule, Backend, ChannelKind, ConversationStatus, InboxView, Macro, MacroStep, RuleCondition, RuleEvent } from './backend';
import { toBackendError } from './backend';
import { t, type MessageKey } from './i18n';
import { describeStep } from './macros.svelte';

export class RuleStore {
  /** In the order they run. */
  list = $state.raw<AutomationRule[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  private seq = 0;

  constructor(private backend: Backend) {}

  async load(): Promise<void> {
    const seq = ++this.seq;
    try {
      const list = await this.backend.listRules();
      if (seq !== this.seq) return;
      this.list = list;
      this.error = null;
    } catch (e) {
      if (seq === this.seq) this.error = toBackendError(e).message;
    } finally {
      if (seq === this.seq) this.loaded = true;
    }
  }

  /** Shows a rule the core just saved (a new one runs last), before `rules_changed` refetches all. */
  upsert(rule: AutomationRule): void {
    this.seq++;
    this.list = this.list.some((r) => r.id === rule.id) ? this.list.map((r) => (r.id === rule.id ? rule : r)) : [...this.list, rule];
  }

  remove(id: number): void {
    this.seq++;
    this.list = this.list.filter((r) => r.id !== id);
  }

  /** Shows a list the core just answered with (a reorder), dropping any load still on its way. */
  set(list: AutomationRule[]): void {
    this.seq++;
    this.list = list;
    this.error = null;
    this.loaded = true;
  }
}

export const RULE_EVENTS: readonly RuleEvent[] = ['conversation_created', 'message_received', 'conversation_updated'];

export const RULE_EVENT_LABEL: Record<RuleEvent, MessageKey> = {
  conversation_created: 'ruleEvent.conversation_created',
  message_received: 'ruleEvent.message_received',
  conversation_updated: 'ruleEvent.conversation_updated',
};

export const RULE_EVENT_HINT: Record<RuleEvent, MessageKey> = {
  conversation_created: 'ruleEvent.conversation_createdHint',
  message_received: 'ruleEvent.message_receivedHint',
  conversation_updated: 'ruleEvent.conversation_updatedHint',
};

export type ConditionKind = RuleCondition['when'];

export const CONDITION_KINDS: readonly ConditionKind[] = [
  'inbox',
  'channel_kind',
  'message_contains',
  'contact_email',
  'contact_phone',
  'status',
  'label',
  'business_hours',
];

export const CONDITION_KIND_LABEL: Record<ConditionKind, MessageKey> = {
  inbox: 'ruleCondition.inbox',
  channel_kind: 'ruleCondition.channel_kind',
  message_contains: 'ruleCondition.message_contains',
  contact_email: 'ruleCondition.contact_email',
  contact_phone: 'ruleCondition.contact_phone',
  status: 'ruleCondition.status',
  label: 'ruleCondition.label',
  business_hours: 'ruleCondition.business_hours',
};

/** Every channel, in the order the inbox picker shows them. */
export const CHANNEL_KINDS: readonly ChannelKind[] = ['website', 'email', 'telegram', 'whatsapp', 'twilio', 'line', 'messenger', 'instagram', 'x', 'api'];

export const CHANNEL_LABEL: Record<ChannelKind, MessageKey> = {
  website: 'channel.website',
  api: 'channel.api',
  email: 'channel.email',
  telegram: 'channel.telegram',
  whatsapp: 'channel.whatsapp',
  twilio: 'channel.twilio',
  line: 'channel.line',
  x: 'channel.x',
  messenger: 'channel.messenger',
  instagram: 'channel.instagram',
};

export const CONDITION_STATUSES: readonly ConversationStatus[] = ['open', 'pending', 'snoozed', 'resolved'];

/** One condition as the form edits it: every kind's fields, so switching kinds keeps what was typed. */
export type DraftCondition = {
  /** Stable across edits, for keyed lists and element ids. */
  key: number;
  kind: ConditionKind;
  inboxIds: number[];
  kinds: ChannelKind[];
  /** Comma-separated. */
  words: string;
  pattern: string;
  statuses: ConversationStatus[];
  label: string;
  present: boolean;
  inside: boolean;
};

let nextKey = 1;

export function blankCondition(kind: ConditionKind = 'inbox'): DraftCondition {
  return { key: nextKey++, kind, inboxIds: [], kinds: [], words: '', pattern: '', statuses: [], label: '', present: true, inside: true };
}

/** "refund, reembolso ,, devolução" → ["refund", "reembolso", "devolução"]. */
export function splitWords(text: string): string[] {
  return text
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
}

export const joinWords = (words: readonly string[]) => words.join(', ');

export function draftOfCondition(c: RuleCondition): DraftCondition {
  const d = blankCondition(c.when);
  switch (c.when) {
    case 'inbox':
      return { ...d, inboxIds: [...c.inbox_ids] };
    case 'channel_kind':
      return { ...d, kinds: [...c.kinds] };
    case 'message_contains':
      return { ...d, words: joinWords(c.words) };
    case 'contact_email':
    case 'contact_phone':
      return { ...d, pattern: c.pattern };
    case 'status':
      return { ...d, statuses: [...c.statuses] };
    case 'label':
      return { ...d, label: c.label, present: c.present };
    case 'business_hours':
      return { ...d, inside: c.inside };
  }
}

/** What the core is sent for a condition of the form. */
export function conditionOf(d: DraftCondition): RuleCondition {
  switch (d.kind) {
    case 'inbox':
      return { when: 'inbox', inbox_ids: [...d.inboxIds] };
    case 'channel_kind':
      return { when: 'channel_kind', kinds: [...d.kinds] };
    case 'message_contains':
      return { when: 'message_contains', words: splitWords(d.words) };
    case 'contact_email':
    case 'contact_phone':
      return { when: d.kind, pattern: d.pattern.trim() };
    case 'status':
      return { when: 'status', statuses: [...d.statuses] };
    case 'label':
      return { when: 'label', label: d.label.trim(), present: d.present };
    case 'business_hours':
      return { when: 'business_hours', inside: d.inside };
  }
}

/** What the form can tell about a condition before asking the core (null: fine). */
export function checkCondition(d: DraftCondition, event: RuleEvent): string | null {
  switch (d.kind) {
    case 'inbox':
      return d.inboxIds.length ? null : t('rulePage.inboxRequired');
    case 'channel_kind':
      return d.kinds.length ? null : t('rulePage.channelRequired');
    case 'message_contains':
      if (event === 'conversation_updated') return t('rulePage.wordsNeedMessage');
      return splitWords(d.words).length ? null : t('rulePage.wordsRequired');
    case 'contact_email':
    case 'contact_phone':
      return d.pattern.trim() ? null : t('rulePage.patternRequired');
    case 'status':
      return d.statuses.length ? null : t('rulePage.statusRequired');
    case 'label':
      return d.label.trim() ? null : t('rulePage.labelRequired');
    case 'business_hours':
      return null;
  }
}

/** One line saying what a condition asks: "Inbox is Acme website or Support mailbox". */
export function describeCondition(c: RuleCondition, inboxes: readonly InboxView[]): string {
  const or = (items: string[]) => items.join(t('rulePage.or'));
  switch (c.when) {
    case 'inbox':
      return t('ruleSummary.inbox', {
        inboxes: or(c.inbox_ids.map((id) => inboxes.find((v) => v.inbox.id === id)?.inbox.name ?? t('rulePage.inboxGone'))),
      });
    case 'channel_kind':
      return t('ruleSummary.channel_kind', { channels: or(c.kinds.map((k) => t(CHANNEL_LABEL[k]))) });
    case 'message_contains':
      return t('ruleSummary.message_contains', { words: or(c.words.map((w) => `“${w}”`)) });
    case 'contact_email':
      return t('ruleSummary.contact_email', { pattern: c.pattern });
    case 'contact_phone':
      return t('ruleSummary.contact_phone', { pattern: c.pattern });
    case 'status':
      return t('ruleSummary.status', { statuses: or(c.statuses.map((s) => t(`status.${s}`))) });
    case 'label':
      return t(c.present ? 'ruleSummary.labelPresent' : 'ruleSummary.labelAbsent', { label: c.label });
    case 'business_hours':
      return t(c.inside ? 'ruleSummary.insideHours' : 'ruleSummary.outsideHours');
  }
}

/** Like `describeStep`, naming the macro a `run_macro` step runs. */
export function describeRuleStep(step: MacroStep, macros: readonly Macro[]): string {
  if (step.step !== 'run_macro') return describeStep(step);
  const m = macros.find((x) => x.id === step.macro_id);
  return m ? t('macroSummary.run_macro', { name: m.name }) : t('macroSummary.run_macro_gone');
}
