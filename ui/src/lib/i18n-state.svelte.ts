// The language the UI speaks, as Svelte state: `t()` and the date and number helpers read it, so
// every template that shows a translated string or a formatted date follows a change at once.
class I18nState {
  /** The BCP 47 tag for `Intl` and `<html lang>`: "en", "pt-BR". */
  tag = $state('en');
  /** The key of the dictionary `t()` reads ("en", "pt"). */
  dict = $state('en');
}

export const i18nState = new I18nState();
