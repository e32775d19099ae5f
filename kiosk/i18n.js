// The page's words: the current language and the text for a key in it, from strings.js.
// Switching the language re-renders the screen: that is screen.js's setLanguage.

import { DEFAULT_LANGUAGE, STRINGS } from './strings.js';

/** The language on screen; only useLanguage changes it. */
export let language = DEFAULT_LANGUAGE;

/** The text for `key` in the current language, placeholders filled from `params`; a count
 * (`params.n`) picks the `one` or `other` form. */
export function t(key, params = {}) {
  let value = STRINGS[language][key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  if (typeof value === 'object' && 'other' in value) value = params.n === 1 ? value.one : value.other;
  return value.replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
}

/** Makes `lang` the page's language (its `lang` attribute and title too), without a re-render. */
export function useLanguage(lang) {
  language = lang;
  document.documentElement.lang = lang;
  document.title = t('appTitle');
}

/** m:ss */
export function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
