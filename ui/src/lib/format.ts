import { getLocale, t } from './i18n';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Compact list time: "now", "5m", "3h", "Mon", "Mar 4", "Mar 4, 2023". */
export function relativeTime(ms: number, now: number): string {
  const diff = now - ms;
  if (diff < MINUTE) return t('time.now');
  if (diff < HOUR) return t('time.minutes', { n: Math.floor(diff / MINUTE) });
  if (diff < DAY) return t('time.hours', { n: Math.floor(diff / HOUR) });
  const d = new Date(ms);
  if (diff < 6 * DAY) return d.toLocaleDateString(getLocale(), { weekday: 'short' });
  if (d.getFullYear() === new Date(now).getFullYear())
    return d.toLocaleDateString(getLocale(), { month: 'short', day: 'numeric' });
  return d.toLocaleDateString(getLocale(), { year: 'numeric', month: 'short', day: 'numeric' });
}

export function fullTime(ms: number): string {
  return new Date(ms).toLocaleString(getLocale(), { dateStyle: 'medium', timeStyle: 'short' });
}

export function clockTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(getLocale(), { hour: '2-digit', minute: '2-digit' });
}

/** A time left, to the nearest minute (at least 1): "3 h 20 min", "2 h", "45 min". */
export function duration(ms: number): string {
  const total = Math.max(1, Math.round(ms / MINUTE));
  const h = Math.floor(total / 60);
  const m = total % 60;
  if (h === 0) return t('duration.m', { m });
  return m === 0 ? t('duration.h', { h }) : t('duration.hm', { h, m });
}

/** How long something took, for reports: "40 s", "12 min", "3 h 5 min", "2 d 4 h" (rounded to the
 * second, minute or hour as it grows). */
export function elapsed(ms: number): string {
  if (ms < 59_500) return t('duration.s', { s: Math.max(0, Math.round(ms / 1000)) });
  const minutes = Math.round(ms / MINUTE);
  if (minutes < 60) return t('duration.m', { m: minutes });
  if (minutes < 24 * 60) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m === 0 ? t('duration.h', { h }) : t('duration.hm', { h, m });
  }
  const hours = Math.round(ms / HOUR);
  const d = Math.floor(hours / 24);
  const h = hours % 24;
  return h === 0 ? t('duration.d', { d }) : t('duration.dh', { d, h });
}

/** The value of an `<input type="date">` for the local day of a time: "2025-03-04". */
export function localDayValue(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A date input's value ("2025-03-04") as the Unix ms of that day's local midnight; null when
 * empty or not a date. */
export function localDayStart(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? null : d.getTime();
}

/** The local midnight that ends the day of a date input's value (the next day's start, so the
 * day itself is included in a range that excludes its end); null when empty or not a date. */
export function localDayEnd(value: string): number | null {
  const start = localDayStart(value);
  if (start === null) return null;
  const d = new Date(start);
  // Not + 24 h: a day with a daylight-saving change is 23 or 25 hours long.
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
}

export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const n = (v: number, digits: number) =>
    new Intl.NumberFormat(getLocale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  if (bytes < 1024 * 1024) return `${n(bytes / 1024, 0)} KB`;
  return `${n(bytes / 1024 / 1024, 1)} MB`;
}

/** Tab counts stay narrow: 999, 1.2K, 54K. */
export function compactCount(n: number): string {
  return new Intl.NumberFormat(getLocale(), { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

export type TextPart = { text: string; quoted: boolean };

const QUOTE_LINE = /^\s*>/;
/** "On Mon, 3 Mar 2025, Ana <ana@example.com> wrote:" and its usual translations. */
const ATTRIBUTION_END = /(wrote|escreveu|escribió|a écrit|schrieb|ha scritto):\s*$/i;
const ATTRIBUTION_START = /^\s*(On|Em|El|Le|Am|Il)\s/i;

/** Splits a plain-text e-mail into what the sender wrote and quoted history: runs of lines
 * starting with ">" (two or more, or one right after an "On … wrote:" line), together with
 * that attribution line (which mail clients sometimes wrap over two lines). */
export function splitQuoted(content: string): TextPart[] {
  const lines = content.split('\n');
  const parts: TextPart[] = [];
  let plain: string[] = [];
  const flush = () => {
    const text = plain.join('\n').replace(/^\n+|\s+$/g, '');
    if (text) parts.push({ text, quoted: false });
    plain = [];
  };
  let i = 0;
  while (i < lines.length) {
    if (!QUOTE_LINE.test(lines[i])) {
      plain.push(lines[i++]);
      continue;
    }
    let end = i;
    while (end < lines.length && QUOTE_LINE.test(lines[end])) end++;
    // The attribution: the last non-blank line before the quote, maybe wrapped from the one above.
    let back = plain.length;
    while (back > 0 && plain[back - 1].trim() === '') back--;
    let start = back;
    if (back > 0 && ATTRIBUTION_END.test(plain[back - 1])) {
      start = back - 1;
      if (!ATTRIBUTION_START.test(plain[start]) && start > 0 && ATTRIBUTION_START.test(plain[start - 1])) start--;
    }
    if (start === back && end - i < 2) {
      plain.push(...lines.slice(i, end));
    } else {
      const quote = [...plain.slice(start, back), ...lines.slice(i, end)].join('\n');
      plain = plain.slice(0, start);
      flush();
      parts.push({ text: quote, quoted: true });
    }
    i = end;
  }
  flush();
  return parts;
}

export type LinkPart = { text: string; url: string | null };

/** http(s) addresses in plain text; punctuation that usually ends a sentence is left out. */
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"»”’]+$/;

/** Splits plain text into runs of text and web addresses, so the addresses can be links. */
export function linkify(text: string): LinkPart[] {
  const parts: LinkPart[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    const raw = m[0];
    const url = raw.replace(TRAILING, (tail) =>
      // Keep a closing bracket that belongs to the address, like …/wiki/Foo_(bar).
      tail.startsWith(')') && raw.slice(0, -tail.length).includes('(') ? ')' : '',
    );
    const start = m.index ?? 0;
    if (start > last) parts.push({ text: text.slice(last, start), url: null });
    parts.push({ text: url, url });
    last = start + url.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), url: null });
  return parts;
}

/** A time soon, compact: "15:30" today, "Tue 09:00" this week, else "Mar 4, 09:00". */
export function shortDateTime(ms: number, now: number): string {
  const d = new Date(ms);
  const today = new Date(now);
  const time = clockTime(ms);
  if (d.toDateString() === today.toDateString()) return time;
  if (Math.abs(ms - now) < 6 * DAY) return `${d.toLocaleDateString(getLocale(), { weekday: 'short' })} ${time}`;
  const sameYear = d.getFullYear() === today.getFullYear();
  const date = d.toLocaleDateString(getLocale(), sameYear ? { month: 'short', day: 'numeric' } : { year: 'numeric', month: 'short', day: 'numeric' });
  return `${date}, ${time}`;
}

/** The snooze presets, in local time: 3 hours from now, tomorrow at 9:00, next Monday at 9:00. */
export function snoozePresets(now: number): { later: number; tomorrow: number; nextWeek: number } {
  const tomorrow = new Date(now);
  tomorrow.setDate(tomorrow.getDate() + 1);
  tomorrow.setHours(9, 0, 0, 0);
  const monday = new Date(now);
  monday.setDate(monday.getDate() + ((8 - monday.getDay()) % 7 || 7));
  monday.setHours(9, 0, 0, 0);
  return { later: now + 3 * HOUR, tomorrow: tomorrow.getTime(), nextWeek: monday.getTime() };
}

/** The value of an `<input type="datetime-local">` for a time: "2026-11-30T09:00", local. */
export function localInputValue(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Reads an `<input type="datetime-local">` value as local time; null when empty or invalid. */
export function parseLocalInput(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
  return Number.isNaN(d.getTime()) ? null : d.getTime();
}
