// The console's words: the current language and the text for a key in it, from strings.js
// (the kiosk's i18n.js, for the console's strings). The choice is kept in the browser.

import { DEFAULT_LANGUAGE, STRINGS } from './strings.js';

const KEY = 'lockerd-console-language';

function initial() {
  const saved = localStorage.getItem(KEY);
  if (saved in STRINGS) return saved;
  const browser = (navigator.language ?? '').slice(0, 2);
  return browser in STRINGS ? browser : DEFAULT_LANGUAGE;
}

/** The language on screen; only useLanguage changes it. */
export let language = initial();

/** The text for `key`, placeholders filled from `params`; a count (`params.n`) picks `one` or
 * `other`. */
export function t(key, params = {}) {
  let value = STRINGS[language][key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  if (typeof value === 'object' && 'other' in value) value = params.n === 1 ? value.one : value.other;
  return value.replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
}

/** Fills every `data-t` element's text and `data-t-label` element's aria-label under `root`. */
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll('[data-t-label]')) el.setAttribute('aria-label', t(el.dataset.tLabel));
  document.documentElement.lang = language;
  document.title = t('appTitle');
}

/** The language buttons in `holder`; `changed` runs after a switch. */
export function languageButtons(holder, changed) {
  holder.replaceChildren(...Object.keys(STRINGS).map((lang) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'lang';
    b.textContent = STRINGS[lang].languageShort;
    b.setAttribute('aria-label', STRINGS[lang].languageName);
    b.setAttribute('aria-pressed', String(lang === language));
    b.addEventListener('click', () => {
      language = lang;
      localStorage.setItem(KEY, lang);
      languageButtons(holder, changed);
      translate();
      changed();
    });
    return b;
  }));
}

/** A time as the browser's locale shows it, and an age ("3 h", "2 d"). */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString(language) : '';
}

export function age(iso, now = Date.now()) {
  if (!iso) return '';
  const min = Math.max(0, Math.floor((now - Date.parse(iso)) / 60000));
  if (min < 60) return t('ageMin', { n: min });
  if (min < 48 * 60) return t('ageHours', { n: Math.floor(min / 60) });
  return t('ageDays', { n: Math.floor(min / 1440) });
}
