// The periods of the reports page, in local days: the presets (relative to today) and the viewer's
// offset from UTC that the core buckets days and hours by.
import { localDayValue } from './format';

export const REPORT_PRESETS = ['today', 'last7', 'last30', 'thisMonth', 'lastMonth'] as const;
export type ReportPreset = (typeof REPORT_PRESETS)[number];

/** A preset's first and last day (both included), as date input values, in local time. "This month"
 * runs to today. */
export function presetDays(preset: ReportPreset, now: number): { since: string; until: string } {
  const d = new Date(now);
  const y = d.getFullYear();
  const m = d.getMonth();
  const today = d.getDate();
  // The Date constructor carries day 0 and negative days over into the months before.
  const day = (month: number, date: number) => localDayValue(new Date(y, month, date).getTime());
  switch (preset) {
    case 'today':
      return { since: day(m, today), until: day(m, today) };
    case 'last7':
      return { since: day(m, today - 6), until: day(m, today) };
    case 'last30':
      return { since: day(m, today - 29), until: day(m, today) };
    case 'thisMonth':
      return { since: day(m, 1), until: day(m, today) };
    case 'lastMonth':
      return { since: day(m - 1, 1), until: day(m, 0) };
  }
}

/** The viewer's current offset from UTC in minutes (-180 in São Paulo). */
export function utcOffsetMinutes(): number {
  return -new Date().getTimezoneOffset();
}
