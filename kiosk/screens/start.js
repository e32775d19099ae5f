// The start screen: the recipient's keypad for a pickup code or a standing pickup code (its
// lockout countdown, the attempts left), and the ways in for a courier and for a delivery.

import { errorKey, kioskApi } from '../api.js';
import { el, field, keypad, note } from '../dom.js';
import { clock, t } from '../i18n.js';
import { current, keypadLock, keypadLocked, render, runCountdown, show } from '../screen.js';
import { courierNameScreen } from './courier.js';
import { deliverScreen } from './deliver.js';
import { pickupScreen } from './pickup.js';

/** Pickup codes are 6 to 10 digits (policy.code_length). */
const MAX_CODE_DIGITS = 10;

export function startScreen(message = null) {
  const s = { value: '', message, busy: false };
  const self = {
    name: 'start',
    enter() {
      if (keypadLock.until > Date.now()) runCountdown(keypadLock, 'lockedOut');
    },
    render() {
      const locked = keypadLock.until > Date.now();
      s.disabled = locked || s.busy;
      const input = field(s, { label: t('codeField'), digits: true, max: MAX_CODE_DIGITS, id: 'code' });
      const shown = locked
        ? { key: 'lockedOut', params: { time: clock(keypadLock.until - Date.now()) }, tone: 'warn', countdown: true }
        : s.message;
      return el('form', { class: 'layout split', onsubmit: (e) => { e.preventDefault(); submit(); } },
        el('div', { class: 'panel' },
          el('h1', { class: 'title' }, t('startTitle')),
          el('p', { class: 'hint' }, t('startHint')),
          input,
          note(shown),
          el('div', { class: 'spacer' }),
          el('div', { class: 'actions ways' },
            el('button', { type: 'button', class: 'button secondary', onclick: () => show(courierNameScreen()) }, t('courier')),
            el('button', { type: 'button', class: 'button secondary', onclick: () => show(deliverScreen()) }, t('deliver')))),
        el('div', { class: 'pad' }, keypad(input, s.disabled)));
    },
  };
  async function submit() {
    const code = s.value;
    if (s.busy || !code || keypadLock.until > Date.now()) return;
    s.busy = true;
    s.message = { key: 'checking' };
    render();
    const r = await kioskApi('POST', '/api/v1/pickup', { code });
    if (!r || current !== self) return;
    s.busy = false;
    s.value = '';
    if (r.ok) return show(pickupScreen(r.data));
    const err = r.error;
    if (keypadLocked(r)) {
      s.message = null;
    } else if (err.code === 'invalid_code') {
      const n = err.attempts_left;
      s.message = !Number.isInteger(n) ? { key: 'invalidCodeNoCount', tone: 'warn' }
        : n > 0 ? { key: 'invalidCode', params: { n }, tone: 'warn' }
          : { key: 'lockedOutSoon', tone: 'warn' };
    } else if (err.code === 'nothing_to_collect') {
      // A standing code with nothing stored in its scope: not a failure, nothing opened.
      s.message = { key: 'nothingToCollect', tone: 'ok' };
    } else if (err.code === 'hardware_unavailable') {
      s.message = { key: 'pickupUnavailable', tone: 'warn' };
    } else {
      s.message = { key: errorKey(r), tone: 'warn' };
    }
    render();
  }
  return self;
}
