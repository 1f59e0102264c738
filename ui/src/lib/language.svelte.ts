// Which language the UI speaks: the system's (`navigator.languages`) unless the agent picked one in
// Settings, remembered in localStorage. Applying it switches `t()`, every date and number format
// (they read the locale from lib/i18n) and `<html lang>`.
import { setLocale } from './i18n';

/** The locales Caixa has dictionaries for. */
export type Locale = 'en' | 'pt-BR';
/** What Settings → Language stores: follow the system, or one locale. */
export type LanguageSetting = 'system' | Locale;

const STORAGE_KEY = 'caixa.language';

function isSetting(v: unknown): v is LanguageSetting {
  return v === 'system' || v === 'en' || v === 'pt-BR';
}

/** The system's preferred languages mapped to what Caixa speaks: any Portuguese → pt-BR, else English. */
export function detectLocale(): Locale {
  const nav = typeof navigator === 'undefined' ? undefined : navigator;
  const tags = nav ? (nav.languages?.length ? nav.languages : [nav.language]) : [];
  const first = tags.find((tag) => typeof tag === 'string' && tag.length > 0);
  return first && /^pt(?:[-_]|$)/i.test(first) ? 'pt-BR' : 'en';
}

function readSetting(): LanguageSetting {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    return isSetting(v) ? v : 'system';
  } catch {
    return 'system';
  }
}

function writeSetting(v: LanguageSetting): void {
  try {
    if (v === 'system') localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, v);
  } catch (e) {
    console.warn('could not remember the language', e);
  }
}

class Language {
  /** The agent's choice in Settings. */
  setting = $state<LanguageSetting>('system');
  /** What the system asks for (followed when `setting` is "system"). */
  detected = $state<Locale>('en');
  /** The locale in use. */
  readonly current: Locale = $derived(this.setting === 'system' ? this.detected : this.setting);
  private started = false;

  /** Reads the saved choice and the system's languages, and applies them; call before mounting. */
  start(): void {
    this.setting = readSetting();
    this.detected = detectLocale();
    this.apply();
    if (this.started || typeof window === 'undefined') return;
    this.started = true;
    // The system language can change while the app runs (the webview fires this).
    window.addEventListener('languagechange', () => {
      this.detected = detectLocale();
      this.apply();
    });
  }

  /** Settings → Language: switches the UI at once and remembers the choice. */
  set(value: LanguageSetting): void {
    this.setting = value;
    writeSetting(value);
    this.apply();
  }

  private apply(): void {
    const locale = this.current;
    setLocale(locale);
    if (typeof document !== 'undefined') document.documentElement.lang = locale;
  }
}

export const language = new Language();
