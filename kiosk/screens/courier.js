// A courier's way in and between parcels: their name, the code from their authenticator app
// (its lockout countdown), and the tracking number, scanned or typed, with Returns and Log out.

import { errorKey, kioskApi } from '../api.js';
import { el, field, keyboard, keypad, note } from '../dom.js';
import { clock, t } from '../i18n.js';
import { current, render, runCountdown, show } from '../screen.js';
import { beginSession, logout } from '../session.js';
import { sizeScreen } from './deposit.js';
import { returnsScreen } from './returns.js';
import { startScreen } from './start.js';

/** Courier codes are TOTP, 6 digits. */
const TOTP_DIGITS = 6;
/** The longest courier name or tracking number typed. */
const MAX_TEXT = 64;

/** Until when courier logins are locked out (ms since the epoch; 0: not locked). */
const loginLock = { until: 0 };

export function courierNameScreen(name = '') {
  const s = { value: name, upper: false };
  return {
    name: 'courier-name',
    idle: true,
    render() {
      const input = field(s, { label: t('courierName'), max: MAX_TEXT, id: 'courier-name' });
      return el('form', { class: 'layout stack', onsubmit: (e) => { e.preventDefault(); if (s.value.trim()) show(courierCodeScreen(s.value.trim())); } },
        el('h1', { class: 'title' }, t('courierTitle')),
        el('p', { class: 'hint' }, t('courierName')),
        input,
        keyboard(input, s, { space: true }),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'button secondary', onclick: () => show(startScreen()) }, t('back')),
          el('button', { type: 'submit', class: 'button primary' }, t('next'))));
    },
  };
}

function courierCodeScreen(name, message = null) {
  const s = { value: '', message, busy: false };
  const self = {
    name: 'courier-code',
    idle: true,
    enter() {
      if (loginLock.until > Date.now()) runCountdown(loginLock, 'loginLockedOut');
    },
    render() {
      const locked = loginLock.until > Date.now();
      s.disabled = locked || s.busy;
      const input = field(s, { label: t('courierCode'), digits: true, max: TOTP_DIGITS, id: 'totp' });
      const shown = locked
        ? { key: 'loginLockedOut', params: { time: clock(loginLock.until - Date.now()) }, tone: 'warn', countdown: true }
        : s.message;
      return el('form', { class: 'layout split', onsubmit: (e) => { e.preventDefault(); submit(); } },
        el('div', { class: 'panel' },
          el('h1', { class: 'title' }, t('courierCodeFor', { name })),
          el('p', { class: 'hint' }, t('courierCode')),
          input,
          note(shown),
          el('div', { class: 'spacer' }),
          el('div', { class: 'actions' },
            el('button', { type: 'button', class: 'button secondary', onclick: () => show(courierNameScreen(name)) }, t('back')),
            el('button', { type: 'submit', class: 'button primary', disabled: s.disabled }, t('logIn')))),
        el('div', { class: 'pad' }, keypad(input, s.disabled)));
    },
  };
  async function submit() {
    if (s.busy || s.value.length !== TOTP_DIGITS || loginLock.until > Date.now()) return;
    s.busy = true;
    s.message = { key: 'checking' };
    render();
    const r = await kioskApi('POST', '/api/v1/courier/login', { courier: name, code: s.value });
    if (!r || current !== self) return;
    s.busy = false;
    s.value = '';
    if (r.ok) {
      beginSession(r.data?.courier ?? name);
      return show(trackingScreen());
    }
    if (r.status === 429) {
      s.message = null;
      loginLock.until = Date.now() + (r.error.retry_after_s ?? 60) * 1000;
      runCountdown(loginLock, 'loginLockedOut');
    } else {
      s.message = { key: r.error.code === 'invalid_credentials' ? 'invalidCredentials' : errorKey(r), tone: 'warn' };
    }
    render();
  }
  return self;
}

/** Returns and Log out, on the courier screens between parcels. */
export function courierNav() {
  return el('div', { class: 'actions nav' },
    el('button', { type: 'button', class: 'button secondary', onclick: () => show(returnsScreen()) }, t('returns')),
    el('button', { type: 'button', class: 'button secondary', onclick: () => logout('loggedOut') }, t('logOut')));
}

export function trackingScreen(message = null, tracking = '') {
  const s = { value: tracking, upper: true, message };
  return {
    name: 'tracking',
    idle: true,
    render() {
      const input = field(s, { label: t('trackingField'), max: MAX_TEXT, id: 'tracking' });
      // A USB barcode scanner types into whatever has the focus: keep it here.
      input.addEventListener('blur', (e) => {
        if (!e.relatedTarget) setTimeout(() => { if (input.isConnected) input.focus({ preventScroll: true }); });
      });
      return el('form', { class: 'layout stack', onsubmit: (e) => { e.preventDefault(); if (s.value.trim()) show(sizeScreen(s.value.trim())); } },
        el('h1', { class: 'title' }, t('trackingTitle')),
        input,
        note(s.message),
        keyboard(input, s),
        el('div', { class: 'actions' },
          courierNav(),
          el('button', { type: 'submit', class: 'button primary' }, t('continue'))));
    },
  };
}
