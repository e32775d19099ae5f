// The screen on show: switching screens (and dropping the old one's timers and door watches),
// rendering it and the bar above it, the language switch, lockout countdowns, and the "not
// paired" notice that replaces the whole page.
//
// A screen is an object `{name, render(), enter?(), idle?, liveKey?()}` that renders itself
// from its own state; render() rebuilds it (the DOM is small), so a language switch is a
// re-render. The screens themselves are in screens/.

import { live } from './live.js';
import { $, el } from './dom.js';
import { clock, language, t, useLanguage } from './i18n.js';
import { armIdle, courier, dropSession } from './session.js';
import { STRINGS } from './strings.js';

/** The screen on show, or null before the first. */
export let current = null;
/** Timers and door watches of the current screen, dropped when it changes. */
let scope = { timers: [], watches: [] };
/** Set for good once the daemon says this browser is no longer a kiosk. */
export let notPaired = false;

export function show(screen) {
  for (const timer of scope.timers) clearTimeout(timer);
  for (const watch of scope.watches) watch.stop();
  scope = { timers: [], watches: [] };
  current = screen;
  screen.enter?.();
  if (current === screen) {
    screen.lastLive = screen.liveKey?.();
    render();
    armIdle();
  }
}

/** setTimeout for the current screen; setInterval when `repeat`. */
export function later(ms, fn, repeat = false) {
  const timer = repeat ? setInterval(fn, ms) : setTimeout(fn, ms);
  scope.timers.push(timer);
  return timer;
}

/** Stops `watch` (live.js's watchDoor) when the current screen is left. */
export function whileShown(watch) {
  scope.watches.push(watch);
}

export function render() {
  if (notPaired || !current) return;
  const main = $('#screen');
  const focused = document.activeElement?.dataset?.focus;
  main.replaceChildren(current.render());
  main.dataset.screen = current.name;
  const again = focused && main.querySelector(`[data-focus="${focused}"]:not([disabled])`);
  (again || main.querySelector('[autofocus]:not([disabled])'))?.focus({ preventScroll: true });
  renderBar();
}

export function renderBar() {
  $('#brand').textContent = t('appTitle');
  const who = $('#who');
  who.hidden = !courier;
  who.textContent = courier ? t('loggedInAs', { name: courier.name }) : '';
  const liveNote = $('#live');
  liveNote.hidden = live.connected;
  liveNote.textContent = live.connected ? '' : t('reconnecting');
  $('#langs').setAttribute('aria-label', t('languageSwitch'));
  $('#langs').replaceChildren(...Object.keys(STRINGS).map((lang) => el('button', {
    type: 'button', class: 'lang', lang, 'aria-pressed': String(lang === language),
    'aria-label': `${STRINGS[lang].languageShort} ${STRINGS[lang].languageName}`, onclick: () => setLanguage(lang),
  }, STRINGS[lang].languageShort)));
}

export function setLanguage(lang) {
  useLanguage(lang);
  render();
}

/** Until when the keypad is locked out (ms since the epoch; 0: not locked): pickup codes and
 * delivery PINs count against the same throttle in the daemon. */
export const keypadLock = { until: 0 };

/** A keypad answer that locked it (`429`, or `retry_after_s` on the failure that locked it):
 * true, and the current screen counts the lockout down in its note. */
export function keypadLocked(r) {
  if (r.status !== 429 && !Number.isFinite(r.error?.retry_after_s)) return false;
  keypadLock.until = Date.now() + (r.error?.retry_after_s ?? 60) * 1000;
  runCountdown(keypadLock, 'lockedOut');
  return true;
}

/** Counts `lock.until` down in the current screen's note, then re-renders. */
export function runCountdown(lock, key) {
  const timer = later(1000, () => {
    const left = lock.until - Date.now();
    if (left <= 0) {
      clearInterval(timer);
      lock.until = 0;
      render();
      return;
    }
    const node = $('#screen [data-countdown]');
    if (node) node.textContent = t(key, { time: clock(left) });
  }, true);
}

/** The kiosk was unpaired: the page says so and does nothing more (no feed, no idle clock). */
export function showNotPaired() {
  notPaired = true;
  dropSession();
  live.source?.close();
  document.body.className = 'not-paired';
  document.body.replaceChildren(el('main', { class: 'notice' },
    el('h1', {}, t('notPaired')),
    el('p', {}, t('notPairedHint'))));
}
