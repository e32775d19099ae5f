// DOM helpers and the widgets every screen is built from: the element builder, the notes,
// the compartment title, the on-screen keypad and keyboard, and the text field they type into.

import { t } from './i18n.js';
import { render } from './screen.js';

/** `el('button', {class, text, onclick, disabled, ...attributes}, ...children)` */
export function el(tag, props = {}, ...children) {
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

export const $ = (selector) => document.querySelector(selector);

/** Keeps the focus in the text field when an on-screen key is tapped. */
const keepFocus = (e) => e.preventDefault();

/** Types `ch` ('\b' deletes) into `field` as a key press would. */
export function typeInto(field, ch) {
  if (!field || field.disabled) return;
  if (ch === '\b') field.value = field.value.slice(0, -1);
  else if (field.value.length < field.maxLength || field.maxLength < 0) field.value += ch;
  field.dispatchEvent(new Event('input', { bubbles: true }));
  field.focus({ preventScroll: true });
}

export function note(n) {
  const text = n ? t(n.key, n.params) : '';
  return el('p', { class: `note ${n?.tone ?? ''}`, role: 'status', 'aria-live': 'polite', 'data-countdown': n?.countdown ? '' : null }, text);
}

/** "Compartment A7 is open", the id in huge type; several ids ("Compartments A1 B2 are
 * open") side by side, each smaller. `ids` is an id or an array of them. */
export function compartmentTitle(key, ids) {
  const list = [ids].flat();
  const [before, after = ''] = t(key, { id: '\u0000', n: list.length }).split('\u0000');
  const longest = Math.max(...list.map((id) => id.length));
  const idClass = `id${longest > 6 || list.length > 3 ? ' longer' : longest > 3 || list.length > 1 ? ' long' : ''}`;
  return el('h1', { class: 'compartment' },
    el('span', { class: 'label' }, before.trim()), ' ',
    el('span', { class: 'ids' }, list.map((id) => el('span', { class: idClass }, id))), ' ',
    el('span', { class: 'label' }, after.trim()));
}

/** A small mark per compartment of `ids` whose occupancy sensor reads: "A7: parcel detected" or
 * "A7: reads empty" (nothing where a compartment has no sensor). `occupiedOf` is live.js's. */
export function sensedMarks(ids, occupiedOf) {
  return [ids].flat()
    .map((id) => [id, occupiedOf(id)])
    .filter(([, occupied]) => occupied !== null)
    .map(([id, occupied]) => el('p', { class: 'sensed', 'data-occupied': String(occupied) },
      t(occupied ? 'sensedOccupied' : 'sensedEmpty', { id })));
}

/** The numeric keypad for `field` (inside its form: OK submits). */
export function keypad(field, disabled) {
  const key = (label, props) => el('button', { type: 'button', class: 'key', disabled, onmousedown: keepFocus, ...props }, label);
  const digit = (d) => key(d, { onclick: () => typeInto(field, d) });
  return el('div', { class: 'keypad', role: 'group', 'aria-label': t('keypad') },
    ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map(digit),
    key('⌫', { class: 'key del', 'aria-label': t('keyDelete'), onclick: () => typeInto(field, '\b') }),
    digit('0'),
    el('button', { type: 'submit', class: 'key ok', disabled }, t('keyOk')));
}

/** Letters, digits and '-' for names and tracking ids; `state.upper` picks the case. */
export function keyboard(field, state, { space = false } = {}) {
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
export function field(state, { label, digits, max, id }) {
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
