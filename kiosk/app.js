// The kiosk page: recipients pick up with a code, couriers deposit and take back parcels, on
// the locker's touchscreen. The protocol with lockerd is docs/kiosk.md: the pairing cookie
// authenticates every call, every non-GET carries the CSRF header, and the live feed
// (EventSource) is the only source of door states and free sizes: nothing here polls.
//
// Every word on screen comes from strings.js. A screen is an object that renders itself from
// its own state; render() rebuilds it (the DOM is small), so a language switch is a re-render.
// No framework, no build step, no inline script or style (the page runs under a CSP of
// default-src 'self').

import { DEFAULT_LANGUAGE, STRINGS } from './strings.js';

/** A logged-in courier who neither touches nor types for this long is logged out, unless a
 * door they opened is still open (they are busy at the locker, not gone). */
const COURIER_IDLE_MS = 90_000;
/** How long the thank-you after a pickup stays before the start screen returns. */
const THANKS_MS = 5_000;
/** Back to the start if a recipient's door is never seen open (jammed latch, walked away). */
const PICKUP_NO_DOOR_MS = 60_000;
/** Wait before reopening the live feed after the daemon refused it (EventSource retries plain
 * network drops by itself). */
const LIVE_RETRY_MS = 5_000;
/** Pickup codes are 6 to 10 digits (policy.code_length); courier codes are TOTP, 6 digits. */
const MAX_CODE_DIGITS = 10;
const TOTP_DIGITS = 6;
const MAX_TEXT = 64;
const SIZES = ['S', 'M', 'L', 'XL'];
const CSRF = { 'X-Lockerd-Csrf': '1' };

// ---- text ---------------------------------------------------------------------------------

let language = DEFAULT_LANGUAGE;

/** The text for `key` in the current language, placeholders filled from `params`; a count
 * (`params.n`) picks the `one` or `other` form. */
function t(key, params = {}) {
  let value = STRINGS[language][key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  if (typeof value === 'object' && 'other' in value) value = params.n === 1 ? value.one : value.other;
  return value.replace(/\{(\w+)\}/g, (all, name) => (name in params ? String(params[name]) : all));
}

function setLanguage(lang) {
  language = lang;
  document.documentElement.lang = lang;
  document.title = t('appTitle');
  render();
}

/** m:ss */
function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// ---- DOM helpers --------------------------------------------------------------------------

/** `el('button', {class, text, onclick, disabled, ...attributes}, ...children)` */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : value);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const $ = (selector) => document.querySelector(selector);

/** Keeps the focus in the text field when an on-screen key is tapped. */
const keepFocus = (e) => e.preventDefault();

/** Types `ch` ('\b' deletes) into `field` as a key press would. */
function typeInto(field, ch) {
  if (!field || field.disabled) return;
  if (ch === '\b') field.value = field.value.slice(0, -1);
  else if (field.value.length < field.maxLength || field.maxLength < 0) field.value += ch;
  field.dispatchEvent(new Event('input', { bubbles: true }));
  field.focus({ preventScroll: true });
}

function note(n) {
  const text = n ? t(n.key, n.params) : '';
  return el('p', { class: `note ${n?.tone ?? ''}`, role: 'status', 'aria-live': 'polite', 'data-countdown': n?.countdown ? '' : null }, text);
}

/** "Compartment A7 is open", the id in huge type. */
function compartmentTitle(key, id) {
  const [before, after = ''] = t(key, { id: '\u0000' }).split('\u0000');
  return el('h1', { class: 'compartment' },
    el('span', { class: 'label' }, before.trim()), ' ',
    el('span', { class: `id${id.length > 6 ? ' longer' : id.length > 3 ? ' long' : ''}` }, id), ' ',
    el('span', { class: 'label' }, after.trim()));
}

/** The numeric keypad for `field` (inside its form: OK submits). */
function keypad(field, disabled) {
  const key = (label, props) => el('button', { type: 'button', class: 'key', disabled, onmousedown: keepFocus, ...props }, label);
  const digit = (d) => key(d, { onclick: () => typeInto(field, d) });
  return el('div', { class: 'keypad', role: 'group', 'aria-label': t('keypad') },
    ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map(digit),
    key('⌫', { class: 'key del', 'aria-label': t('keyDelete'), onclick: () => typeInto(field, '\b') }),
    digit('0'),
    el('button', { type: 'submit', class: 'key ok', disabled }, t('keyOk')));
}

/** Letters, digits and '-' for names and tracking ids; `state.upper` picks the case. */
function keyboard(field, state, { space = false } = {}) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const chars = [...'1234567890', ...(state.upper ? letters.toUpperCase() : letters), '-'];
  const key = (label, props) => el('button', { type: 'button', class: 'key', onmousedown: keepFocus, ...props }, label);
  return el('div', { class: 'keyboard', role: 'group', 'aria-label': t('keyboard') },
    chars.map((c) => key(c, { onclick: () => typeInto(field, c) })),
    key(state.upper ? t('keyShiftLower') : t('keyShiftUpper'), {
      class: 'key wide shift', 'aria-label': t('keyShiftLabel'), 'aria-pressed': String(state.upper),
      onclick: () => { state.upper = !state.upper; render(); },
    }),
    space && key('␣', { class: 'key wide', 'aria-label': t('keySpace'), onclick: () => typeInto(field, ' ') }),
    key('⌫', { class: 'key wide del', 'aria-label': t('keyDelete'), onclick: () => typeInto(field, '\b') }));
}

/** A text or digit field that keeps its value in `state.value`. */
function field(state, { label, digits, max, id }) {
  const input = el('input', {
    id, class: `field${digits ? ' digits' : ''}`, type: 'text', inputmode: 'none', autocomplete: 'off',
    autocapitalize: 'off', spellcheck: 'false', maxlength: String(max), 'aria-label': label,
    'data-primary': '', 'data-focus': id, autofocus: true, disabled: state.disabled,
  });
  input.value = state.value;
  input.addEventListener('input', () => {
    if (digits) input.value = input.value.replace(/\D/g, '').slice(0, max);
    state.value = input.value;
  });
  return input;
}

// ---- screens ------------------------------------------------------------------------------

let current = null;
/** Timers and door watches of the current screen, dropped when it changes. */
let scope = { timers: [], watches: [] };
let notPaired = false;

function show(screen) {
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
function later(ms, fn, repeat = false) {
  const timer = repeat ? setInterval(fn, ms) : setTimeout(fn, ms);
  scope.timers.push(timer);
  return timer;
}

function render() {
  if (notPaired || !current) return;
  const main = $('#screen');
  const focused = document.activeElement?.dataset?.focus;
  main.replaceChildren(current.render());
  main.dataset.screen = current.name;
  const again = focused && main.querySelector(`[data-focus="${focused}"]:not([disabled])`);
  (again || main.querySelector('[autofocus]:not([disabled])'))?.focus({ preventScroll: true });
  renderBar();
}

function renderBar() {
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

/** Counts `lock.until` down in the current screen's note, then re-renders. */
function runCountdown(lock, key) {
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

const pickupLock = { until: 0 };
const loginLock = { until: 0 };

function startScreen(message = null) {
  const s = { value: '', message, busy: false };
  const self = {
    name: 'start',
    enter() {
      if (pickupLock.until > Date.now()) runCountdown(pickupLock, 'lockedOut');
    },
    render() {
      const locked = pickupLock.until > Date.now();
      s.disabled = locked || s.busy;
      const input = field(s, { label: t('codeField'), digits: true, max: MAX_CODE_DIGITS, id: 'code' });
      const shown = locked
        ? { key: 'lockedOut', params: { time: clock(pickupLock.until - Date.now()) }, tone: 'warn', countdown: true }
        : s.message;
      return el('form', { class: 'layout split', onsubmit: (e) => { e.preventDefault(); submit(); } },
        el('div', { class: 'panel' },
          el('h1', { class: 'title' }, t('startTitle')),
          el('p', { class: 'hint' }, t('startHint')),
          input,
          note(shown),
          el('div', { class: 'spacer' }),
          el('button', { type: 'button', class: 'button secondary', onclick: () => show(courierNameScreen()) }, t('courier'))),
        el('div', { class: 'pad' }, keypad(input, s.disabled)));
    },
  };
  async function submit() {
    const code = s.value;
    if (s.busy || !code || pickupLock.until > Date.now()) return;
    s.busy = true;
    s.message = { key: 'checking' };
    render();
    const r = await kioskApi('POST', '/api/v1/pickup', { code });
    if (!r || current !== self) return;
    s.busy = false;
    s.value = '';
    if (r.ok) return show(pickupScreen(r.data));
    const err = r.error;
    if (r.status === 429 || Number.isFinite(err.retry_after_s)) {
      s.message = null;
      pickupLock.until = Date.now() + (err.retry_after_s ?? 60) * 1000;
      runCountdown(pickupLock, 'lockedOut');
    } else if (err.code === 'invalid_code') {
      const n = err.attempts_left;
      s.message = !Number.isInteger(n) ? { key: 'invalidCodeNoCount', tone: 'warn' }
        : n > 0 ? { key: 'invalidCode', params: { n }, tone: 'warn' }
          : { key: 'lockedOutSoon', tone: 'warn' };
    } else if (err.code === 'hardware_unavailable') {
      s.message = { key: 'pickupUnavailable', tone: 'warn' };
    } else {
      s.message = { key: errorKey(r), tone: 'warn' };
    }
    render();
  }
  return self;
}

function pickupScreen({ parcel_id: parcel, compartment: { id } }) {
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

// ---- courier screens ----------------------------------------------------------------------

/** The logged-in courier ({name, doors}: the compartments they opened, pruned of closed
 * ones when the idle clock runs out), or null. The session itself is the daemon's HttpOnly cookie. */
let courier = null;

function courierNameScreen(name = '') {
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
      courier = { name: r.data?.courier ?? name, doors: new Set() };
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
function courierNav() {
  return el('div', { class: 'actions nav' },
    el('button', { type: 'button', class: 'button secondary', onclick: () => show(returnsScreen()) }, t('returns')),
    el('button', { type: 'button', class: 'button secondary', onclick: () => logout('loggedOut') }, t('logOut')));
}

function trackingScreen(message = null, tracking = '') {
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

/** Whether a parcel of `size` has a free compartment (of that size or larger). */
function available(size) {
  if (!live.free) return false;
  return SIZES.slice(SIZES.indexOf(size)).some((bigger) => (live.free[bigger] ?? 0) > 0);
}

/** S/M/L/XL; a size is enabled when `allowed` and a compartment for it is free ("none free"
 * says which are not). */
function sizeButtons(allowed, choose, busy) {
  return el('div', { class: 'sizes' }, SIZES.map((size) => {
    const free = available(size);
    return el('button', {
      type: 'button', class: 'size', 'data-size': size, disabled: !free || !allowed(size) || busy,
      onclick: () => choose(size),
    }, el('span', { class: 'size-letter' }, size),
    el('span', { class: 'size-name' }, STRINGS[language].sizeNames[size]),
    !free && el('span', { class: 'size-none' }, t('sizeNoneFree')));
  }));
}

function sizeScreen(tracking) {
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
    if (r.ok) return show(depositScreen({ tracking, parcel: r.data.parcel_id, compartment: r.data.compartment, old: [] }));
    if (r.error.code === 'duplicate_tracking_id') return show(trackingScreen({ key: 'duplicateTracking', tone: 'warn' }));
    s.message = { key: errorKey(r), tone: 'warn' };
    render();
  }
  return self;
}

/** A deposit's open compartment: put the parcel in, close, Done; or Doesn't fit, or Cancel.
 * `old` are compartments left behind by "Doesn't fit", whose doors must be closed too. */
function depositScreen(d) {
  const { id, size } = d.compartment;
  const s = { busy: false, resizing: false, message: null };
  let watch;
  const openOld = () => d.old.filter((c) => doorOf(c) === 'open');
  const self = {
    name: 'deposit-open',
    idle: true,
    enter() {
      courier.doors.add(id);
      watch = watchDoor(id, { opened: render, closed: render });
    },
    liveKey: () => [doorOf(id), ...openOld(), ...SIZES.map(available)].join(),
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
    const r = await courierApi(method, path, body);
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
      () => show(storedScreen(d.tracking, id)));
  }
  function cancel() {
    step('POST', `/api/v1/deposits/${encodeURIComponent(d.parcel)}/cancel`, undefined,
      () => show(takeBackScreen(id)));
  }
  function resize(newSize) {
    step('POST', `/api/v1/deposits/${encodeURIComponent(d.parcel)}/resize`, { size: newSize },
      (data) => show(depositScreen({ tracking: d.tracking, parcel: data.parcel_id ?? d.parcel, compartment: data.compartment, old: [...d.old, id] })));
  }
  return self;
}

/** After Cancel: the courier takes the parcel back and closes the door. */
function takeBackScreen(id) {
  return {
    name: 'cancelled',
    idle: true,
    enter() {
      courier.doors.add(id);
      watchDoor(id, { closed: () => show(trackingScreen({ key: 'cancelled', tone: 'ok' })) });
    },
    render() {
      return el('section', { class: 'layout center' },
        el('h1', { class: 'title' }, t('cancelled')),
        el('p', { class: 'instruction' }, t('takeParcelBack', { id })),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'button secondary', onclick: () => show(trackingScreen()) }, t('nextParcel'))));
    },
  };
}

function storedScreen(tracking, id) {
  return {
    name: 'stored',
    idle: true,
    render() {
      return el('section', { class: 'layout center' },
        el('h1', { class: 'title big ok' }, `✓ ${t('stored')}`),
        el('p', { class: 'instruction' }, t('storedDetail', { tracking, id })),
        el('div', { class: 'actions' },
          courierNav(),
          el('button', { type: 'button', class: 'button primary', autofocus: true, onclick: () => show(trackingScreen()) }, t('nextParcel'))));
    },
  };
}

function returnsScreen() {
  const s = { parcels: null, busy: false, message: null };
  const self = {
    name: 'returns',
    idle: true,
    enter() { load(); },
    render() {
      const list = s.parcels === null ? note({ key: 'checking' })
        : s.parcels.length === 0 ? el('p', { class: 'instruction' }, t('returnsEmpty'))
          : el('ul', { class: 'list' }, s.parcels.map((p) => el('li', {},
            el('button', { type: 'button', class: 'button item', disabled: s.busy, onclick: () => open(p) },
              t('returnItem', { tracking: p.tracking_id, id: p.compartment })))));
      return el('section', { class: 'layout stack' },
        el('h1', { class: 'title' }, t('returnsTitle')),
        list,
        note(s.message),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'button secondary', onclick: () => show(trackingScreen()) }, t('back')),
          el('button', { type: 'button', class: 'button secondary', onclick: () => logout('loggedOut') }, t('logOut'))));
    },
  };
  async function load() {
    const r = await courierApi('GET', '/api/v1/courier/returns');
    if (!r || current !== self) return;
    if (r.ok) s.parcels = r.data?.parcels ?? [];
    else s.message = { key: errorKey(r), tone: 'warn' };
    render();
  }
  async function open(p) {
    s.busy = true;
    render();
    const r = await courierApi('POST', `/api/v1/courier/returns/${encodeURIComponent(p.id)}/open`);
    if (!r || current !== self) return;
    s.busy = false;
    if (r.ok) return show(returnOpenScreen(p.compartment));
    s.message = { key: errorKey(r), tone: 'warn' };
    render();
  }
  return self;
}

function returnOpenScreen(id) {
  return {
    name: 'return-open',
    idle: true,
    enter() {
      courier.doors.add(id);
      watchDoor(id, { closed: () => show(returnsScreen()) });
    },
    render() {
      return el('section', { class: 'layout open' },
        compartmentTitle('compartmentOpen', id),
        el('p', { class: 'instruction' }, t('returnTake')),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'button secondary', onclick: () => show(returnsScreen()) }, t('backToList'))));
    },
  };
}

async function logout(reason) {
  if (!courier) return;
  courier = null;
  await call('POST', '/api/v1/courier/logout');
  setLanguage(DEFAULT_LANGUAGE);
  if (!notPaired) show(startScreen({ key: reason, tone: 'ok' }));
}

/** Any 401 on a courier route: the daemon ended the session (logout elsewhere, expiry). */
function sessionEnded() {
  courier = null;
  show(startScreen({ key: 'sessionEnded', tone: 'warn' }));
}

// ---- idle timeout -------------------------------------------------------------------------

let idleTimer = null;

/** Restarts the idle clock on courier screens; any touch or key press calls it. */
function armIdle() {
  clearTimeout(idleTimer);
  idleTimer = null;
  if (current?.idle && !notPaired) idleTimer = setTimeout(idleExpired, COURIER_IDLE_MS);
}

function idleExpired() {
  // Doors seen closed by now are done with; the courier is still busy while any is open.
  for (const id of courier?.doors ?? []) if (doorOf(id) !== 'open') courier.doors.delete(id);
  if (courier?.doors.size) return armIdle();
  if (courier) logout('idleLoggedOut');
  else show(startScreen());
}

// ---- the daemon's API ---------------------------------------------------------------------

/** One API call: `{ok, status, data, error}`; `error.code` is `network` when nothing answered. */
async function call(method, path, body) {
  const headers = method === 'GET' ? {} : { ...CSRF };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, data: null, error: { code: 'network' } };
  }
  let data = null;
  try { data = await res.json(); } catch { /* an empty 202 or 204 */ }
  return { ok: res.ok, status: res.status, data, error: res.ok ? null : (data?.error ?? { code: 'unexpected' }) };
}

/** A call on the kiosk's own credential: 401 unauthorized means it was unpaired. */
async function kioskApi(method, path, body) {
  const r = await call(method, path, body);
  if (r.status === 401 && r.error.code === 'unauthorized') {
    showNotPaired();
    return null;
  }
  return r;
}

/** A call in the courier's session: any 401 means the session is over. */
async function courierApi(method, path, body) {
  const r = await call(method, path, body);
  if (r.status === 401) {
    sessionEnded();
    return null;
  }
  return r;
}

function errorKey(r) {
  switch (r.error?.code) {
    case 'network': return 'networkError';
    case 'no_compartment_available': return 'noCompartment';
    case 'duplicate_tracking_id': return 'duplicateTracking';
    case 'hardware_unavailable': return 'hardwareUnavailable';
    case 'locked_out': return 'lockedOutSoon';
    default: return 'unexpected';
  }
}

function showNotPaired() {
  notPaired = true;
  courier = null;
  clearTimeout(idleTimer);
  live.source?.close();
  document.body.className = 'not-paired';
  document.body.replaceChildren(el('main', { class: 'notice' },
    el('h1', {}, t('notPaired')),
    el('p', {}, t('notPairedHint'))));
}

// ---- the live feed ------------------------------------------------------------------------

/** The last `state` event: compartments by id and the free counts per size. */
const live = { connected: true, compartments: new Map(), free: null, watches: new Set(), source: null };

function doorOf(id) {
  return live.compartments.get(id)?.door ?? 'unknown';
}

/** Calls `opened` when compartment `id`'s door is seen open, then `closed` once it is seen
 * closed after that; checked against the state at hand at once, then on every event. */
function watchDoor(id, { opened, closed } = {}) {
  const watch = {
    seenOpen: false,
    check() {
      const door = doorOf(id);
      if (door === 'open' && !watch.seenOpen) {
        watch.seenOpen = true;
        opened?.();
      } else if (door === 'closed' && watch.seenOpen) {
        watch.stop();
        closed?.();
      }
    },
    stop() { live.watches.delete(watch); },
  };
  live.watches.add(watch);
  scope.watches.push(watch);
  queueMicrotask(() => { if (live.watches.has(watch)) watch.check(); });
  return watch;
}

function applyState(state) {
  live.compartments = new Map((state.compartments ?? []).map((c) => [c.id, c]));
  live.free = state.free ?? null;
  for (const watch of [...live.watches]) if (live.watches.has(watch)) watch.check();
  const key = current?.liveKey?.();
  if (key !== undefined && key !== current.lastLive) {
    current.lastLive = key;
    render();
  }
}

function connectLive() {
  const source = new EventSource('/api/v1/kiosk/events');
  live.source = source;
  source.addEventListener('state', (e) => {
    let state;
    try { state = JSON.parse(e.data); } catch { return; }
    applyState(state);
  });
  source.addEventListener('open', () => setConnected(true));
  source.addEventListener('error', () => {
    setConnected(false);
    if (source.readyState === EventSource.CLOSED) checkPairing();
  });
}

/** The feed was refused, not dropped: unpaired (the page says so) or a passing fault. */
async function checkPairing() {
  let status = 0;
  try { status = (await fetch('/kiosk/', { cache: 'no-store', credentials: 'same-origin' })).status; } catch { /* offline */ }
  if (status === 401) showNotPaired();
  else setTimeout(connectLive, LIVE_RETRY_MS);
}

function setConnected(connected) {
  if (live.connected === connected) return;
  live.connected = connected;
  if (!notPaired) renderBar();
}

// ---- keyboard -----------------------------------------------------------------------------

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
