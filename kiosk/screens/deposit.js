// A deposit: choose a size (only sizes with a free compartment are offered), then the open
// compartment (Done, Doesn't fit, Cancel), then stored, or taken back after a cancel. A
// courier's deposit and a delivery (screens/deliver.js) share the open compartment's screens:
// only who makes the calls and where they go between parcels differ (a "depositor").

import { courierApi, errorKey } from '../api.js';
import { compartmentTitle, el, note, sensedMarks } from '../dom.js';
import { language, t } from '../i18n.js';
import { doorOf, live, occupiedOf, watchDoor } from '../live.js';
import { current, render, show } from '../screen.js';
import { openedDoor } from '../session.js';
import { STRINGS } from '../strings.js';
import { courierNav, trackingScreen } from './courier.js';

export const SIZES = ['S', 'M', 'L', 'XL'];

/** A logged-in courier as a depositor: calls in their session (its cookie), the tracking id
 * screen between parcels, Returns and Log out beside "Next parcel". A delivery makes its own. */
const byCourier = {
  api: courierApi,
  next: (message) => trackingScreen(message),
  nav: () => courierNav(),
  cancelled: 'cancelled',
};

/** Whether a parcel of `size` has a free compartment (of that size or larger). */
export function available(size) {
  if (!live.free) return false;
  return SIZES.slice(SIZES.indexOf(size)).some((bigger) => (live.free[bigger] ?? 0) > 0);
}

/** S/M/L/XL; a size is enabled when `allowed` and a compartment for it is free ("none free"
 * says which are not). With `picked`, the buttons are a compact choice that shows it. */
export function sizeButtons(allowed, choose, busy, picked) {
  const compact = picked !== undefined;
  return el('div', { class: `sizes${compact ? ' compact' : ''}`, role: compact ? 'group' : null, 'aria-label': compact ? t('sizeLabel') : null }, SIZES.map((size) => {
    const free = available(size);
    return el('button', {
      type: 'button', class: 'size', 'data-size': size, disabled: !free || !allowed(size) || busy,
      'aria-pressed': compact ? String(size === picked) : null, onclick: () => choose(size),
    }, el('span', { class: 'size-letter' }, size),
    el('span', { class: 'size-name' }, STRINGS[language].sizeNames[size]),
    !free && el('span', { class: 'size-none' }, t('sizeNoneFree')));
  }));
}

export function sizeScreen(tracking) {
  const s = { accessible: false, busy: false, message: null };
  const self = {
    name: 'size',
    idle: true,
    liveKey: () => SIZES.map(available).join(),
    render() {
      return el('section', { class: 'layout stack' },
        el('h1', { class: 'title' }, t('sizeTitle', { tracking })),
        sizeButtons(() => true, deposit, s.busy),
        el('button', {
          type: 'button', class: 'button toggle', 'aria-pressed': String(s.accessible),
          onclick: () => { s.accessible = !s.accessible; render(); },
        }, el('span', { class: 'check', 'aria-hidden': 'true' }, s.accessible ? '✓' : ''), t('preferLow')),
        note(s.message),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'button secondary', onclick: () => show(trackingScreen(null, tracking)) }, t('back'))));
    },
  };
  async function deposit(size) {
    if (s.busy) return;
    s.busy = true;
    render();
    const body = { tracking_id: tracking, size };
    if (s.accessible) body.accessible = true;
    const r = await courierApi('POST', '/api/v1/deposits', body);
    if (!r || current !== self) return;
    s.busy = false;
    if (r.ok) return show(depositScreen({ by: byCourier, tracking, parcel: r.data.parcel_id, compartment: r.data.compartment, old: [] }));
    if (r.error.code === 'duplicate_tracking_id') return show(trackingScreen({ key: 'duplicateTracking', tone: 'warn' }));
    s.message = { key: errorKey(r), tone: 'warn' };
    render();
  }
  return self;
}

/** A deposit's open compartment: put the parcel in, close, Done; or Doesn't fit, or Cancel.
 * `d.by` is the depositor (`byCourier`, or a delivery's: `{api, next, nav, cancelled}`); `old`
 * are compartments left behind by "Doesn't fit", whose doors must be closed too. */
export function depositScreen(d) {
  const { id, size } = d.compartment;
  const s = { busy: false, resizing: false, message: null };
  let watch;
  const openOld = () => d.old.filter((c) => doorOf(c) === 'open');
  const self = {
    name: 'deposit-open',
    idle: true,
    enter() {
      openedDoor(id);
      watch = watchDoor(id, { opened: render, closed: render });
    },
    liveKey: () => [doorOf(id), occupiedOf(id), ...openOld(), ...SIZES.map(available)].join(),
    render() {
      if (s.resizing) {
        const larger = (z) => SIZES.indexOf(z) > SIZES.indexOf(size);
        return el('section', { class: 'layout stack' },
          el('h1', { class: 'title' }, t('chooseLarger')),
          sizeButtons(larger, resize, s.busy),
          note(s.message),
          el('div', { class: 'actions' },
            el('button', { type: 'button', class: 'button secondary', disabled: s.busy, onclick: () => { s.resizing = false; s.message = null; render(); } }, t('back'))));
      }
      const canResize = SIZES.some((z) => SIZES.indexOf(z) > SIZES.indexOf(size) && available(z));
      return el('section', { class: 'layout open' },
        compartmentTitle('compartmentOpen', id),
        el('p', { class: 'instruction' }, t(!watch.seenOpen ? 'doorOpening' : doorOf(id) === 'closed' ? 'pressDone' : 'putParcelIn')),
        sensedMarks(id, occupiedOf),
        openOld().map((c) => el('p', { class: 'note warn' }, t('alsoClose', { id: c }))),
        note(s.message),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'button secondary', disabled: s.busy || !canResize, onclick: () => { s.resizing = true; s.message = null; render(); } }, t('doesntFit')),
          el('button', { type: 'button', class: 'button secondary', disabled: s.busy, onclick: cancel }, t('cancel')),
          el('button', { type: 'button', class: 'button primary', disabled: s.busy, onclick: done }, t('done'))));
    },
  };
  async function step(method, path, body, onOk) {
    s.busy = true;
    s.message = null;
    render();
    const r = await d.by.api(method, path, body);
    if (!r || current !== self) return;
    s.busy = false;
    if (r.ok) return onOk(r.data);
    s.message = { key: r.status === 409 && path.endsWith('/confirm') ? 'closeFirst' : errorKey(r), tone: 'warn' };
    render();
  }
  function done() {
    if (!(watch.seenOpen && doorOf(id) === 'closed')) {
      s.message = { key: 'closeFirst', tone: 'warn' };
      return render();
    }
    step('POST', `/api/v1/deposits/${encodeURIComponent(d.parcel)}/confirm`, undefined,
      () => show(storedScreen(d.by, d.tracking, id)));
  }
  function cancel() {
    step('POST', `/api/v1/deposits/${encodeURIComponent(d.parcel)}/cancel`, undefined,
      () => show(takeBackScreen(d.by, id)));
  }
  function resize(newSize) {
    step('POST', `/api/v1/deposits/${encodeURIComponent(d.parcel)}/resize`, { size: newSize },
      (data) => show(depositScreen({ ...d, parcel: data.parcel_id ?? d.parcel, compartment: data.compartment, old: [...d.old, id] })));
  }
  return self;
}

/** After Cancel: the courier or driver takes the parcel back and closes the door. */
function takeBackScreen(by, id) {
  return {
    name: 'cancelled',
    idle: true,
    enter() {
      openedDoor(id);
      watchDoor(id, { closed: () => show(by.next({ key: by.cancelled, tone: 'ok' })) });
    },
    render() {
      return el('section', { class: 'layout center' },
        el('h1', { class: 'title' }, t(by.cancelled)),
        el('p', { class: 'instruction' }, t('takeParcelBack', { id })),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'button secondary', onclick: () => show(by.next()) }, t('nextParcel'))));
    },
  };
}

function storedScreen(by, tracking, id) {
  return {
    name: 'stored',
    idle: true,
    render() {
      return el('section', { class: 'layout center' },
        el('h1', { class: 'title big ok' }, `✓ ${t('stored')}`),
        el('p', { class: 'instruction' }, t('storedDetail', { tracking, id })),
        el('div', { class: 'actions' },
          by.nav(),
          el('button', { type: 'button', class: 'button primary', autofocus: true, onclick: () => show(by.next()) }, t('nextParcel'))));
    },
  };
}
