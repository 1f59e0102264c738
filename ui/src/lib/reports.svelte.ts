// Reports: the figures of a period (a preset relative to today, or two days the agent picks) for
// every inbox or one. The period is kept in local days (what the date inputs show); the query asks
// the core for local midnights, the last day included, in the viewer's current UTC offset. Nothing
// refreshes by itself: showing the page, changing the period or inbox and Refresh load it again.
import type { Backend, Report, ReportQuery } from './backend';
import { toBackendError } from './backend';
import { localDayEnd, localDayStart } from './format';
import { t } from './i18n';
import { presetDays, utcOffsetMinutes, type ReportPreset } from './report-period';

/** Why two days make no period: one is missing, or the last is before the first. */
export type RangeProblem = 'missing' | 'order';

export class ReportStore {
  preset = $state<ReportPreset | 'custom'>('last7');
  /** The period's first day, as a date input value. */
  since = $state('');
  /** The period's last day (included), as a date input value. */
  until = $state('');
  /** null: every inbox. */
  inboxId = $state<number | null>(null);
  report = $state.raw<Report | null>(null);
  loading = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** The field the core's validation error names ("until"), if it names one. */
  errorField = $state<string | null>(null);
  exporting = $state(false);
  /** Where the last export was written. */
  exportedTo = $state<string | null>(null);
  exportError = $state<string | null>(null);

  readonly problem: RangeProblem | null = $derived.by(() => {
    const since = localDayStart(this.since);
    const until = localDayEnd(this.until);
    if (since === null || until === null) return 'missing';
    return until <= since ? 'order' : null;
  });

  private seq = 0;

  constructor(private backend: Backend) {
    this.setDays(presetDays('last7', Date.now()));
  }

  private setDays(days: { since: string; until: string }): void {
    this.since = days.since;
    this.until = days.until;
  }

  /** The question for the chosen period and inbox; null while the days make no period. */
  query(): ReportQuery | null {
    const since = localDayStart(this.since);
    const until = localDayEnd(this.until);
    if (since === null || until === null || until <= since) return null;
    return { inbox_id: this.inboxId, since, until, utc_offset_minutes: utcOffsetMinutes() };
  }

  /** The page is shown: a preset means days relative to today, which may have moved on. */
  show(): Promise<void> {
    if (this.preset !== 'custom') this.setDays(presetDays(this.preset, Date.now()));
    return this.load();
  }

  choosePreset(preset: ReportPreset): Promise<void> {
    this.preset = preset;
    this.setDays(presetDays(preset, Date.now()));
    return this.load();
  }

  /** A day typed or picked in the custom range. */
  setDay(which: 'since' | 'until', value: string): Promise<void> {
    this[which] = value;
    this.preset = 'custom';
    return this.load();
  }

  setInbox(id: number | null): Promise<void> {
    this.inboxId = id;
    return this.load();
  }

  /** The chosen inbox is gone: report on every inbox instead. */
  forgetInbox(id: number): void {
    if (this.inboxId === id) this.inboxId = null;
  }

  async load(): Promise<void> {
    const seq = ++this.seq;
    const query = this.query();
    this.error = null;
    this.errorField = null;
    if (!query) {
      // The period controls say what is wrong; figures of another period would mislead.
      this.report = null;
      this.loading = false;
      this.loaded = true;
      return;
    }
    this.loading = true;
    try {
      const report = await this.backend.report(query);
      if (seq !== this.seq) return;
      this.report = report;
    } catch (e) {
      if (seq !== this.seq) return;
      const err = toBackendError(e);
      const field = err.fields[0];
      this.report = null;
      this.error = field?.message || err.message;
      this.errorField = field?.field ?? null;
    } finally {
      if (seq === this.seq) {
        this.loading = false;
        this.loaded = true;
      }
    }
  }

  /** Asks where to save (the system's save dialog), then has the core write the chosen period's
   * report there as CSV. Resolves to whether a file was written (not when cancelled or failed). */
  async exportCsv(): Promise<boolean> {
    const query = this.query();
    if (!query || this.exporting) return false;
    this.exporting = true;
    this.exportError = null;
    this.exportedTo = null;
    try {
      let path: string | null;
      try {
        path = await this.backend.pickSavePath(`${t('reports.fileName', { since: this.since, until: this.until })}.csv`, {
          name: t('reports.csvFiles'),
          extensions: ['csv'],
        });
      } catch (e) {
        this.exportError = t('reports.pickError', { message: toBackendError(e).message });
        return false;
      }
      if (!path) return false;
      try {
        await this.backend.exportReport(query, path);
      } catch (e) {
        const err = toBackendError(e);
        this.exportError = t('reports.exportError', { message: err.fields[0]?.message || err.message });
        return false;
      }
      this.exportedTo = path;
      return true;
    } finally {
      this.exporting = false;
    }
  }
}
