// Codes (`#codes`): access codes (standing pickup codes and delivery PINs: create, the code
// shown once; list; delete) and reservations (pre-advised parcels: create, list, withdraw).

import { all, call } from './api.js';
import { confirmAction, el, errorKey, say } from './dom.js';
import { t, when } from './i18n.js';
import { pagedTable, secretBox } from './lists.js';

export function render(main) {
  const codes = el('div', { id: 'access-codes' });
  const reservations = el('div', { id: 'reservations' });
  const shownOnce = el('div', { id: 'code-shown-once', 'aria-live': 'polite' });
  const f = {
    name: el('input', { id: 'code-name', autocomplete: 'off', required: true, maxlength: '64' }),
    purpose: el('select', { id: 'code-purpose' }, ['pickup', 'delivery'].map((p) => el('option', { value: p }, t(`purpose_${p}`)))),
    uses: el('input', { id: 'code-uses', type: 'number', min: '1', max: '1000000' }),
    expires: el('input', { id: 'code-expires', type: 'datetime-local' }),
    compartments: el('input', { id: 'code-compartments', autocomplete: 'off', placeholder: 'A1, A2' }),
    tracking: el('input', { id: 'res-tracking', autocomplete: 'off', required: true, maxlength: '64' }),
    size: el('select', { id: 'res-size' }, ['S', 'M', 'L', 'XL'].map((s) => el('option', { value: s }, s))),
  };
  const field = (input, key) => [el('label', { for: input.id }, t(key)), input];
  main.append(
    el('h1', {}, t('codesTitle')), shownOnce,
    el('h2', {}, t('accessCodes')),
    el('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); addCode(); } },
      field(f.name, 'codeName'), field(f.purpose, 'purpose'), field(f.uses, 'uses'),
      field(f.expires, 'expires'), field(f.compartments, 'compartmentsField'),
      el('button', { type: 'submit', class: 'primary' }, t('createCode'))),
    codes,
    el('h2', {}, t('reservations')),
    el('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); addReservation(); } },
      field(f.tracking, 'trackingId'), field(f.size, 'size'),
      el('button', { type: 'submit', class: 'primary' }, t('reserve'))),
    reservations,
  );

  async function loadCodes() {
    const r = await call('GET', '/api/v1/access-codes');
    if (!r.ok) { say(errorKey(r)); return; }
    pagedTable(codes, [t('codeName'), t('purpose'), t('uses'), t('expires'), t('compartmentsField'), ''], r.data.access_codes, (c) => [
      c.name, t(`purpose_${c.purpose}`), c.uses_left ?? '∞', when(c.expires_at) || '–', (c.compartments ?? [t('all')]).join(', '),
      el('button', { type: 'button', onclick: () => removeCode(c) }, t('delete')),
    ]);
  }

  async function addCode() {
    const body = { name: f.name.value.trim(), purpose: f.purpose.value };
    if (f.uses.value) body.uses = Number(f.uses.value);
    if (f.expires.value) body.expires_at = new Date(f.expires.value).toISOString().replace(/\.\d+Z$/, 'Z');
    const ids = f.compartments.value.split(/[\s,]+/).filter(Boolean);
    if (ids.length) body.compartments = ids;
    const r = await call('POST', '/api/v1/access-codes', body);
    if (!r.ok) { say(errorKey(r)); return; }
    f.name.value = ''; f.uses.value = ''; f.expires.value = ''; f.compartments.value = '';
    shownOnce.replaceChildren(secretBox(t('codeCreated', { name: r.data.name }), [
      el('p', { class: 'big' }, el('code', { id: 'new-code' }, r.data.code)),
    ]));
    loadCodes();
  }

  async function removeCode(c) {
    if (await confirmAction({ title: `${t('delete')} ${c.name}`, text: t('deleteCodeText', { name: c.name }), reason: false }) === null) return;
    const r = await call('DELETE', `/api/v1/access-codes/${encodeURIComponent(c.id)}`);
    say(r.ok ? 'done' : errorKey(r));
    loadCodes();
  }

  async function loadReservations() {
    const list = await all('/api/v1/sync/reservations?limit=500', 'reservations');
    if (!list) return;
    pagedTable(reservations, [t('trackingId'), t('size'), t('expires'), ''], list, (v) => [
      v.tracking_id, v.size, when(v.expires_at),
      el('button', { type: 'button', onclick: () => withdraw(v) }, t('withdraw')),
    ]);
  }

  async function addReservation() {
    const tracking = f.tracking.value.trim();
    const r = await call('PUT', `/api/v1/sync/reservations/${encodeURIComponent(tracking)}`, { size: f.size.value });
    say(r.ok ? 'done' : errorKey(r));
    if (r.ok) f.tracking.value = '';
    loadReservations();
  }

  async function withdraw(v) {
    if (await confirmAction({ title: `${t('withdraw')} ${v.tracking_id}`, text: t('withdrawText', { tracking: v.tracking_id }), reason: false }) === null) return;
    const r = await call('DELETE', `/api/v1/sync/reservations/${encodeURIComponent(v.tracking_id)}`);
    say(r.ok ? 'done' : errorKey(r));
    loadReservations();
  }

  loadCodes();
  loadReservations();
  return () => {};
}
