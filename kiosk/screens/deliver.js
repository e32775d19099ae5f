// A delivery by a driver without an account: scan or type the tracking number (and pick a
// size, S unless told), and the locker opens if it admits the parcel (expected by a
// reservation, or open drop); otherwise the recipient's delivery PIN. Then the same open
// compartment as a courier's deposit (screens/deposit.js), its calls made in the delivery's own
// session (the daemon's answer sets it as the HttpOnly courier cookie: the page never holds it).

import { deliveryApi, errorKey, kioskApi } from '../api.js';
import { el, field, keyboard, keypad, note } from '../dom.js';
import { clock, t } from '../i18n.js';
import { current, keypadLock, keypadLocked, render, runCountdown, show } from '../screen.js';
import { beginDelivery } from '../session.js';
import { available, depositScreen, SIZES, sizeButtons } from './deposit.js';
import { startScreen } from './start.js';

/** The longest tracking number typed. */
const MAX_TEXT = 64;
/** Delivery PINs are access codes or deposit PINs: policy.code_length, 6 to 10 digits. */
const MAX_PIN_DIGITS = 10;

/** A delivery as a depositor (see deposit.js): calls in its own session; between parcels, the
 * tracking number again; "Finish" back to the start. */
const byDelivery = {
  api: deliveryApi,
  next: (message) => deliverScreen(message),
  nav: () => el('button', { type: 'button', class: 'button secondary', onclick: () => show(startScreen()) }, t('finish')),
  cancelled: 'deliveryCancelled',
};

/** The tracking number and the size. `d` is what the driver gave so far: `{tracking, size,
 * pin}` (a PIN already accepted stays for a retry with another size). */
export function deliverScreen(message = null, d = { tracking: '', size: 'S', pin: null }) {
  const s = { value: d.tracking, upper: true, message, busy: false, size: d.size };
  const self = {
    name: 'deliver',
    idle: true,
    enter() { if (!d.pin) beginDelivery(); },
    liveKey: () => SIZES.map(available).join(),
    render() {
      s.disabled = s.busy;
      const input = field(s, { label: t('trackingField'), max: MAX_TEXT, id: 'deliver-tracking' });
      // A USB barcode scanner types into whatever has the focus: keep it here.
      input.addEventListener('blur', (e) => {
        if (!e.relatedTarget) setTimeout(() => { if (input.isConnected) input.focus({ preventScroll: true }); });
      });
      return el('form', { class: 'layout stack', onsubmit: (e) => { e.preventDefault(); submit(); } },
        el('h1', { class: 'title' }, t('deliverTitle')),
        input,
        note(s.message),
        keyboard(input, s),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'button secondary', onclick: () => show(startScreen()) }, t('back')),
          el('div', { class: 'size-pick' },
            el('span', { class: 'hint', 'aria-hidden': 'true' }, t('sizeLabel')),
            sizeButtons(() => true, (size) => { s.size = size; render(); }, s.busy, s.size)),
          el('button', { type: 'submit', class: 'button primary', disabled: s.busy }, t('continue'))));
    },
  };
  function submit() {
    const tracking = s.value.trim();
    if (s.busy || !tracking) return;
    deliver(self, s, { ...d, tracking, size: s.size });
  }
  return self;
}

/** The recipient's delivery PIN for `d.tracking`, on the keypad (shared lockout with pickup). */
function pinScreen(d, message = null) {
  const s = { value: '', message, busy: false };
  const self = {
    name: 'deliver-pin',
    idle: true,
    enter() {
      if (keypadLock.until > Date.now()) runCountdown(keypadLock, 'lockedOut');
    },
    render() {
      const locked = keypadLock.until > Date.now();
      s.disabled = locked || s.busy;
      const input = field(s, { label: t('pinField'), digits: true, max: MAX_PIN_DIGITS, id: 'pin' });
      const shown = locked
        ? { key: 'lockedOut', params: { time: clock(keypadLock.until - Date.now()) }, tone: 'warn', countdown: true }
        : s.message;
      return el('form', { class: 'layout split', onsubmit: (e) => { e.preventDefault(); submit(); } },
        el('div', { class: 'panel' },
          el('h1', { class: 'title' }, t('pinTitle')),
          el('p', { class: 'hint' }, t('pinHint', { tracking: d.tracking })),
          input,
          note(shown),
          el('div', { class: 'spacer' }),
          el('div', { class: 'actions nav' },
            el('button', { type: 'button', class: 'button secondary', onclick: () => show(deliverScreen(null, { ...d, pin: null })) }, t('back')))),
        el('div', { class: 'pad' }, keypad(input, s.disabled)));
    },
  };
  function submit() {
    if (s.busy || !s.value || keypadLock.until > Date.now()) return;
    const pin = s.value;
    s.value = '';
    deliver(self, s, { ...d, pin });
  }
  return self;
}

/** POST /api/v1/deliveries from `screen` (whose state is `s`) and on to what the answer means:
 * the open compartment, the PIN (asked, or refused without saying which part was wrong), the
 * lockout, or back to the tracking number. */
async function deliver(screen, s, d) {
  s.busy = true;
  s.message = { key: 'checking' };
  render();
  const body = { tracking_id: d.tracking, size: d.size };
  if (d.pin) body.pin = d.pin;
  const r = await kioskApi('POST', '/api/v1/deliveries', body);
  if (!r || current !== screen) return;
  s.busy = false;
  s.message = null;
  if (r.ok) {
    const { parcel_id: parcel, compartment } = r.data;
    return show(depositScreen({ by: byDelivery, tracking: d.tracking, parcel, compartment, old: [] }));
  }
  const code = r.error.code;
  if (keypadLocked(r)) return show(pinScreen({ ...d, pin: null }));
  if (code === 'delivery_not_allowed') {
    if (!d.pin) return show(pinScreen(d));
    const lockedNext = r.error.attempts_left === 0;
    return show(pinScreen({ ...d, pin: null }, { key: lockedNext ? 'lockedOutSoon' : 'deliveryRefused', tone: 'warn' }));
  }
  if (code === 'no_compartment_available') return show(deliverScreen({ key: 'deliveryNoCompartment', tone: 'warn' }, d));
  if (code === 'duplicate_tracking_id') return show(deliverScreen({ key: 'duplicateTracking', tone: 'warn' }));
  s.message = { key: errorKey(r), tone: 'warn' };
  render();
}
