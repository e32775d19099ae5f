// A recipient's open compartment: take the parcel, close the door (followed on the live feed),
// report a problem; then the thank-you and back to the start.

import { kioskApi } from '../api.js';
import { compartmentTitle, el, note } from '../dom.js';
import { t } from '../i18n.js';
import { watchDoor } from '../live.js';
import { current, later, render, setLanguage, show } from '../screen.js';
import { DEFAULT_LANGUAGE } from '../strings.js';
import { startScreen } from './start.js';

/** How long the thank-you after a pickup stays before the start screen returns. */
const THANKS_MS = 5_000;
/** Back to the start if a recipient's door is never seen open (jammed latch, walked away). */
const PICKUP_NO_DOOR_MS = 60_000;

export function pickupScreen({ parcel_id: parcel, compartment: { id } }) {
  const s = { report: null };
  let watch;
  const self = {
    name: 'pickup-open',
    enter() {
      watch = watchDoor(id, { opened: render, closed: () => show(thanksScreen()) });
      later(PICKUP_NO_DOOR_MS, () => { if (!watch.seenOpen) show(startScreen()); });
    },
    render() {
      return el('section', { class: 'layout open' },
        compartmentTitle('compartmentOpen', id),
        el('p', { class: 'instruction' }, t(watch.seenOpen ? 'closeWhenDone' : 'takeParcel')),
        reportArea());
    },
  };
  function reportArea() {
    if (s.report === 'sent' || s.report === 'failed') {
      return note({ key: s.report === 'sent' ? 'reported' : 'reportFailed', tone: s.report === 'sent' ? 'ok' : 'warn' });
    }
    if (s.report === null) {
      return el('button', { type: 'button', class: 'button secondary', onclick: () => { s.report = 'choose'; render(); } }, t('reportProblem'));
    }
    const busy = s.report === 'sending';
    return el('div', { class: 'report', role: 'group', 'aria-label': t('reportTitle') },
      el('h2', { class: 'subtitle' }, t('reportTitle')),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'button', disabled: busy, onclick: () => report('empty') }, t('reportEmpty')),
        el('button', { type: 'button', class: 'button', disabled: busy, onclick: () => report('damaged') }, t('reportDamaged')),
        el('button', { type: 'button', class: 'button secondary', disabled: busy, onclick: () => { s.report = null; render(); } }, t('back'))));
  }
  async function report(kind) {
    s.report = 'sending';
    render();
    const r = await kioskApi('POST', '/api/v1/incidents', { kind, parcel_id: parcel, compartment: id });
    if (!r || current !== self) return;
    s.report = r.ok ? 'sent' : 'failed';
    render();
  }
  return self;
}

function thanksScreen() {
  return {
    name: 'thanks',
    enter() {
      later(THANKS_MS, () => { setLanguage(DEFAULT_LANGUAGE); show(startScreen()); });
    },
    render() {
      return el('section', { class: 'layout center' },
        el('h1', { class: 'title big' }, t('thanks')),
        el('p', { class: 'instruction' }, t('thanksHint')));
    },
  };
}
