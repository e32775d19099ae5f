// The kiosk page: recipients pick up with a code, couriers and drivers without an account
// deliver, couriers take back parcels, on the locker's touchscreen. The protocol with lockerd is
// docs/kiosk.md: the pairing cookie authenticates every call (a courier's and a delivery's
// session cookies theirs), every non-GET carries the CSRF header, and the live feed
// (EventSource) is the only source of door states and free sizes: nothing here polls.
//
// This entry wires the page together: the keys typed anywhere, the first screen, the live
// feed. The rest are ES modules the browser loads as they are (no framework, no build step, no
// inline script or style: the page runs under a CSP of default-src 'self'), each one served
// by src/http/kiosk.rs:
//   strings.js  every word on screen, in every language    i18n.js    the current language
//   dom.js      the element builder and shared widgets      screen.js  the screen on show
//   api.js      calls to the daemon                         live.js    the live feed
//   session.js  who is at the locker and the idle clock
//   screens/    start (pickup code), pickup, courier (login, tracking), deposit, deliver
//               (a driver without an account: tracking, PIN), returns

import { $, typeInto } from './dom.js';
import { connectLive } from './live.js';
import { notPaired, setLanguage, show } from './screen.js';
import { startScreen } from './screens/start.js';
import { armIdle } from './session.js';
import { DEFAULT_LANGUAGE } from './strings.js';

/** Keys typed while the focus is not in the screen's field (on a button, or nowhere) still go
 * there: a physical keypad, or a barcode scanner after a tap elsewhere. */
function onKey(e) {
  armIdle();
  if (e.ctrlKey || e.metaKey || e.altKey || notPaired) return;
  const primary = $('#screen [data-primary]');
  if (!primary || primary.disabled || e.target === primary || e.target instanceof HTMLInputElement) return;
  const onButton = e.target instanceof HTMLButtonElement;
  if (e.key === 'Backspace') {
    typeInto(primary, '\b');
  } else if (e.key === 'Enter' && !onButton) {
    primary.form?.requestSubmit();
  } else if (e.key.length === 1 && !(e.key === ' ' && onButton)) {
    if (primary.classList.contains('digits') && !/\d/.test(e.key)) return;
    typeInto(primary, e.key);
  } else {
    return;
  }
  e.preventDefault();
}

document.addEventListener('keydown', onKey, true);
document.addEventListener('pointerdown', armIdle, true);

setLanguage(DEFAULT_LANGUAGE);
show(startScreen());
connectLive();
