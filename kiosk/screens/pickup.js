// A recipient's open compartment(s): take the parcel, close the door (followed on the live
// feed), report a problem; then the thank-you and back to the start. A standing pickup code
// opens every compartment that holds a parcel for it, one after another: all are shown, and
// the thank-you waits for every door.

import { kioskApi } from '../api.js';
import { compartmentTitle, el, note, sensedMarks } from '../dom.js';
import { t } from '../i18n.js';
import { occupiedOf, watchDoor } from '../live.js';
import { current, later, render, setLanguage, show } from '../screen.js';
import { DEFAULT_LANGUAGE } from '../strings.js';
import { startScreen } from './start.js';

/** How long the thank-you after a pickup stays before the start screen returns. */
const THANKS_MS = 5_000;
/** Stop waiting for a recipient's door never seen open (jammed latch, walked away); with none
 * seen open, back to the start. */
const PICKUP_NO_DOOR_MS = 60_000;

/** `answer` is POST /api/v1/pickup's: `opened` lists every parcel a standing code opened. */
export function pickupScreen(answer) {
  const opened = (answer.opened?.length ? answer.opened : [answer])
    .map((o) => ({ parcel: o.parcel_id, id: o.compartment.id, watch: null }));
  const ids = opened.map((o) => o.id);
  const many = opened.length > 1;
  const s = { report: null, kind: null };
  const self = {
    name: 'pickup-open',
    enter() {
      for (const o of opened) o.watch = watchDoor(o.id, { opened: render, closed: doorClosed });
      later(PICKUP_NO_DOOR_MS, () => {
        const waiting = opened.filter((o) => o.watch.seenOpen);
        if (waiting.length === 0) return show(startScreen());
        opened.splice(0, opened.length, ...waiting);
        doorClosed();
      });
    },
    // Redrawn when an occupancy sensor changes: the parcel taken out, or still inside.
    liveKey: () => ids.map(occupiedOf).join(),
    render() {
      const seenOpen = opened.some((o) => o.watch.seenOpen);
      return el('section', { class: 'layout open' },
        compartmentTitle(many ? 'compartmentsOpen' : 'compartmentOpen', ids),
        el('p', { class: 'instruction' }, t(seenOpen ? (many ? 'closeAllWhenDone' : 'closeWhenDone') : (many ? 'takeParcels' : 'takeParcel'))),
        sensedMarks(ids, occupiedOf),
        reportArea());
    },
  };
  /** Every door seen open was closed again: done. */
  function doorClosed() {
    if (current === self && opened.every((o) => o.watch.done)) show(thanksScreen());
  }
  function reportArea() {
    if (s.report === 'sent' || s.report === 'failed') {
      return note({ key: s.report === 'sent' ? 'reported' : 'reportFailed', tone: s.report === 'sent' ? 'ok' : 'warn' });
    }
    if (s.report === null) {
      return el('button', { type: 'button', class: 'button secondary', onclick: () => { s.report = 'choose'; render(); } }, t('reportProblem'));
    }
    const busy = s.report === 'sending';
    const back = el('button', { type: 'button', class: 'button secondary', disabled: busy, onclick: () => { s.report = null; s.kind = null; render(); } }, t('back'));
    if (s.kind) {
      // A standing code opened several: which compartment the report is about.
      return el('div', { class: 'report', role: 'group', 'aria-label': t('reportWhich') },
        el('h2', { class: 'subtitle' }, t('reportWhich')),
        el('div', { class: 'actions' },
          opened.map((o) => el('button', { type: 'button', class: 'button', disabled: busy, onclick: () => report(s.kind, o) }, o.id)),
          back));
    }
    const choose = (kind) => (many ? () => { s.kind = kind; render(); } : () => report(kind, opened[0]));
    return el('div', { class: 'report', role: 'group', 'aria-label': t('reportTitle') },
      el('h2', { class: 'subtitle' }, t('reportTitle')),
      el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'button', disabled: busy, onclick: choose('empty') }, t('reportEmpty')),
        el('button', { type: 'button', class: 'button', disabled: busy, onclick: choose('damaged') }, t('reportDamaged')),
        back));
  }
  async function report(kind, o) {
    s.report = 'sending';
    render();
    const r = await kioskApi('POST', '/api/v1/incidents', { kind, parcel_id: o.parcel, compartment: o.id });
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
