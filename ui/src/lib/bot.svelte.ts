// An inbox's greeting, business hours and chatbot (Settings → an inbox → "Bot & business hours").
// Loaded per inbox when its page opens, and refetched on `bot_settings_changed` for that inbox.
import { SvelteMap } from 'svelte/reactivity';
import type { Backend, BotSettings, InboxBot, OpeningHours } from './backend';
import { AGENT_BOT_TIMEOUT_MAX, toBackendError } from './backend';
import { t } from './i18n';
import { joinWords, splitWords } from './rules.svelte';

export class BotStore {
  /** By inbox id: what the core last said, once loaded. */
  private bots = new SvelteMap<number, InboxBot>();
  private errors = new SvelteMap<number, string>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping; no view reads it
  private seqs = new Map<number, number>();

  constructor(private backend: Backend) {}

  get(inboxId: number): InboxBot | undefined {
    return this.bots.get(inboxId);
  }

  error(inboxId: number): string | null {
    return this.errors.get(inboxId) ?? null;
  }

  async load(inboxId: number): Promise<void> {
    const seq = (this.seqs.get(inboxId) ?? 0) + 1;
    this.seqs.set(inboxId, seq);
    try {
      const bot = await this.backend.getInboxBot(inboxId);
      if (this.seqs.get(inboxId) !== seq) return;
      this.bots.set(inboxId, bot);
      this.errors.delete(inboxId);
    } catch (e) {
      if (this.seqs.get(inboxId) === seq) this.errors.set(inboxId, toBackendError(e).message);
    }
  }

  /** What the core answered to a save: shown at once, dropping any load still on its way. */
  set(bot: InboxBot): void {
    this.seqs.set(bot.inbox_id, (this.seqs.get(bot.inbox_id) ?? 0) + 1);
    this.bots.set(bot.inbox_id, bot);
    this.errors.delete(bot.inbox_id);
  }

  /** `bot_settings_changed`: refetch it if it was ever loaded (else its page loads it when opened). */
  changed(inboxId: number): void {
    if (this.bots.has(inboxId) || this.errors.has(inboxId)) void this.load(inboxId);
  }

  /** `resync`: refetch everything loaded. */
  reloadAll(): void {
    const ids = [...this.bots.keys(), ...this.errors.keys()];
    for (const id of ids.filter((x, i) => ids.indexOf(x) === i)) void this.load(id);
  }

  /** An inbox was deleted. */
  forget(inboxId: number): void {
    this.bots.delete(inboxId);
    this.errors.delete(inboxId);
  }
}

/** 1 = Monday … 7 = Sunday, as the core numbers them. */
export const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7] as const;

/** The weekday's name in the app's language: 2024-01-01 was a Monday. */
export function weekdayName(weekday: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone: 'UTC' }).format(Date.UTC(2024, 0, weekday));
}

/** This computer's time zone (IANA name), what new business hours start with. */
export function localTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Every time zone the webview knows, for suggestions. */
export function timeZones(): string[] {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

/** One opening interval as the form edits it. Times are `<input type="time">` values ("HH:MM");
 * a closing time of 00:00 means midnight, the end of the day (the core's "24:00"). */
export type DraftInterval = { key: number; open: string; close: string };
export type DraftDay = { weekday: number; intervals: DraftInterval[] };
export type DraftFaq = { key: number; keywords: string; answer: string };

export type BotDraft = {
  greeting: string;
  hoursOn: boolean;
  timeZone: string;
  /** Monday to Sunday; a day without intervals is closed. */
  days: DraftDay[];
  outOfOffice: string;
  faq: DraftFaq[];
  /** Comma-separated; empty = the core's defaults. */
  handoverWords: string;
  handoverMessage: string;
  agentUrl: string;
  /** Seconds; empty or 0 = the core's default. */
  agentTimeout: number | null;
};

let nextKey = 1;

export const blankInterval = (open = '09:00', close = '18:00'): DraftInterval => ({ key: nextKey++, open, close });
export const blankFaq = (): DraftFaq => ({ key: nextKey++, keywords: '', answer: '' });

/** What "business hours on" starts with: Monday to Friday, 09:00 to 18:00. */
export function defaultDays(): DraftDay[] {
  return WEEKDAYS.map((weekday) => ({ weekday, intervals: weekday <= 5 ? [blankInterval()] : [] }));
}

const MIDNIGHT = '24:00';

export function draftOfBot(s: BotSettings): BotDraft {
  const hours = s.business_hours ?? null;
  const days = hours
    ? WEEKDAYS.map((weekday) => ({
        weekday,
        intervals: hours.days
          .filter((d) => d.weekday === weekday)
          .map((d) => blankInterval(d.open, d.close === MIDNIGHT ? '00:00' : d.close)),
      }))
    : defaultDays();
  return {
    greeting: s.greeting ?? '',
    hoursOn: hours !== null,
    timeZone: hours?.time_zone ?? localTimeZone(),
    days,
    outOfOffice: s.out_of_office ?? '',
    faq: (s.faq ?? []).map((f) => ({ key: nextKey++, keywords: joinWords(f.keywords), answer: f.answer })),
    handoverWords: joinWords(s.handover_keywords ?? []),
    handoverMessage: s.handover_message ?? '',
    agentUrl: s.agent_bot_url ?? '',
    agentTimeout: s.agent_bot_timeout_secs ? s.agent_bot_timeout_secs : null,
  };
}

const textOrNull = (s: string) => (s.trim() ? s : null);

/** What the core is sent. Without business hours there is no out-of-office reply (the form keeps
 * its text while the hours are off, but it is not saved). */
export function settingsOf(d: BotDraft): BotSettings {
  const days: OpeningHours[] = d.hoursOn
    ? d.days.flatMap((day) =>
        day.intervals.map((i) => ({ weekday: day.weekday, open: i.open, close: i.close === '00:00' ? MIDNIGHT : i.close })),
      )
    : [];
  return {
    greeting: textOrNull(d.greeting),
    business_hours: d.hoursOn ? { time_zone: d.timeZone.trim(), days } : null,
    out_of_office: d.hoursOn ? textOrNull(d.outOfOffice) : null,
    faq: d.faq.map((f) => ({ keywords: splitWords(f.keywords), answer: f.answer })),
    handover_keywords: splitWords(d.handoverWords),
    handover_message: textOrNull(d.handoverMessage),
    agent_bot_url: d.agentUrl.trim() || null,
    agent_bot_timeout_secs: d.agentTimeout ?? 0,
  };
}

/** The fields the form shows errors under, named as the core names them. */
export type BotField = 'greeting' | 'out_of_office' | 'handover_message' | 'business_hours' | 'faq' | 'agent_bot_url' | 'agent_bot_timeout_secs';
export const BOT_FIELDS: readonly BotField[] = [
  'greeting',
  'business_hours',
  'out_of_office',
  'faq',
  'handover_message',
  'agent_bot_url',
  'agent_bot_timeout_secs',
];

/** Errors in place: per field, and for an FAQ answer (by key) or an interval (by key). */
export type BotErrors = Partial<Record<BotField | 'form', string>> & {
  faqItem?: { key: number; message: string };
  interval?: { key: number; message: string };
};

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const minutes = (hhmm: string, closing: boolean) => {
  const [h, m] = hhmm.split(':').map(Number);
  const v = h * 60 + m;
  return closing && v === 0 ? 24 * 60 : v;
};

/** What the form can tell before asking the core. */
export function checkBot(d: BotDraft): BotErrors {
  const out: BotErrors = {};
  if (d.hoursOn) {
    if (!d.timeZone.trim()) out.business_hours = t('botPage.timeZoneRequired');
    else
      for (const day of d.days)
        for (const i of day.intervals) {
          if (out.interval) break;
          if (!TIME.test(i.open) || !TIME.test(i.close)) out.interval = { key: i.key, message: t('botPage.timeRequired') };
          else if (minutes(i.open, false) >= minutes(i.close, true)) out.interval = { key: i.key, message: t('botPage.openBeforeClose') };
        }
  }
  for (const f of d.faq) {
    if (!splitWords(f.keywords).length) out.faqItem = { key: f.key, message: t('botPage.keywordsRequired') };
    else if (!f.answer.trim()) out.faqItem = { key: f.key, message: t('botPage.answerRequired') };
    if (out.faqItem) break;
  }
  const url = d.agentUrl.trim();
  if (url && !/^https?:\/\/[^\s/]+/i.test(url)) out.agent_bot_url = t('botPage.urlInvalid');
  // An emptied number input binds as undefined or null: the default.
  const secs = d.agentTimeout ?? null;
  if (secs !== null && (!Number.isInteger(secs) || secs < 0 || secs > AGENT_BOT_TIMEOUT_MAX))
    out.agent_bot_timeout_secs = t('botPage.timeoutRange', { max: AGENT_BOT_TIMEOUT_MAX });
  return out;
}

export const hasBotErrors = (e: BotErrors) => Object.values(e).some(Boolean);
