// Parcels: a search (tracking id, state, deposit date) over the daemon's paged list, shown a
// page at a time; and one parcel's page (`#parcel/<id>`): its facts, photo, history (events,
// door history, audit entries, from its evidence), the evidence as a download, extend, new code.

import { call } from './api.js';
import { confirmAction, el, errorKey, fill, say } from './dom.js';
import { t, when } from './i18n.js';

const STATES = ['', 'opening', 'open', 'closed', 'stored', 'collected', 'expired', 'returned', 'cancelled'];
/** Results shown at once; "More" shows the next as many. */
const SHOWN = 25;
/** The most parcels a search reads from the daemon (its pages of 500). */
const SCANNED = 5000;

export function render(main, [id]) {
  if (id) return parcelPage(main, id);
  const tracking = el('input', { id: 'q-tracking', type: 'search', autocomplete: 'off' });
  const state = el('select', { id: 'q-state' },
    STATES.map((s) => el('option', { value: s }, s ? t(`parcel_${s}`) : t('anyState'))));
  const date = el('input', { id: 'q-date', type: 'date' });
  const results = el('div', { id: 'results', 'aria-live': 'polite' });
  const form = el('form', { class: 'search', role: 'search', onsubmit: (e) => { e.preventDefault(); search(); } },
    el('label', { for: 'q-tracking' }, t('trackingId')), tracking,
    el('label', { for: 'q-state' }, t('state')), state,
    el('label', { for: 'q-date' }, t('depositedOn')), date,
    el('button', { type: 'submit', class: 'primary' }, t('search')));
  main.append(el('h1', {}, t('parcelsTitle')), form, results);

  async function search() {
    results.replaceChildren(el('p', {}, t('searching')));
    const found = [];
    let after = null;
    let scanned = 0;
    const needle = tracking.value.trim().toLowerCase();
    do {
      const q = new URLSearchParams({ limit: '500' });
      if (state.value) q.set('state', state.value);
      if (after) q.set('after', after);
      const r = await call('GET', `/api/v1/parcels?${q}`);
      if (!r.ok) { results.replaceChildren(el('p', { class: 'error' }, t(errorKey(r)))); return; }
      scanned += r.data.parcels.length;
      found.push(...r.data.parcels.filter((p) => (!needle || p.tracking_id.toLowerCase().includes(needle))
        && (!date.value || p.deposited_at.startsWith(date.value))));
      after = r.data.next;
    } while (after && scanned < SCANNED);
    show(found, SHOWN);
  }

  function show(found, upTo) {
    const rows = found.slice(0, upTo).map((p) => el('tr', {},
      el('td', {}, el('a', { href: `#parcels/${encodeURIComponent(p.id)}` }, p.tracking_id)),
      el('td', {}, t(`parcel_${p.state}`)),
      el('td', {}, p.compartment ?? ''),
      el('td', {}, when(p.deposited_at))));
    fill(results,
      el('p', {}, t('found', { n: found.length })),
      found.length ? el('table', {}, el('thead', {}, el('tr', {},
        el('th', {}, t('trackingId')), el('th', {}, t('state')), el('th', {}, t('compartment')), el('th', {}, t('deposited')))),
      el('tbody', {}, rows)) : null,
      found.length > upTo ? el('button', { type: 'button', onclick: () => show(found, upTo + SHOWN) }, t('more')) : null);
  }
  tracking.focus();
  return () => {};
}

function parcelPage(main, id) {
  const path = `/api/v1/parcels/${encodeURIComponent(id)}`;
  const body = el('div', { id: 'parcel' });
  main.append(body);

  async function load() {
    const r = await call('GET', `${path}/evidence`);
    if (!r.ok) { body.replaceChildren(el('p', { class: 'error' }, t(errorKey(r)))); return; }
    const { parcel: p, events, audit, door_history: doors } = r.data;
    const live = ['stored', 'expired'].includes(p.state);
    const until = el('input', { id: 'extend-until', type: 'datetime-local' });
    body.replaceChildren(
      el('h1', {}, t('parcelTitle', { tracking: p.tracking_id })),
      el('dl', {},
        el('dt', {}, t('state')), el('dd', { id: 'parcel-state' }, t(`parcel_${p.state}`)),
        el('dt', {}, t('compartment')), el('dd', {}, p.compartment ?? '–'),
        el('dt', {}, t('size')), el('dd', {}, p.size),
        el('dt', {}, t('deposited')), el('dd', {}, when(p.deposited_at)),
        el('dt', {}, t('deliveredBy')), el('dd', {}, p.delivered_by ?? '–'),
        el('dt', {}, t('expires')), el('dd', { id: 'parcel-expires' }, when(p.expires_at) || '–')),
      el('p', { class: 'actions' },
        el('a', { class: 'button', id: 'evidence', href: `${path}/evidence`, download: `evidence-${p.id}.json` }, t('downloadEvidence')),
        live ? el('button', { type: 'button', onclick: newCode }, t('newCode')) : null),
      live ? el('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); extend(until.value); } },
        el('label', { for: 'extend-until' }, t('extendUntil')), until,
        el('button', { type: 'submit' }, t('extend'))) : null,
      p.photo ? el('img', { class: 'photo', src: `${path}/photo`, alt: t('photoOf', { tracking: p.tracking_id }) }) : null,
      el('h2', {}, t('history')),
      el('ol', { class: 'history', id: 'history' }, [
        ...events.map((e) => ({ at: e.at ?? e.time, what: e.type, who: '' })),
        ...doors.map((d) => ({ at: d.at, what: `${d.compartment}: ${t(d.open ? 'door_open' : 'door_closed')}`, who: d.cause })),
        ...audit.map((a) => ({ at: a.at, what: a.action, who: a.actor })),
      ].sort((a, b) => String(a.at).localeCompare(String(b.at))).map((h) => el('li', {},
        el('time', { datetime: h.at }, when(h.at)), ' ', el('strong', {}, h.what), h.who ? ` · ${h.who}` : ''))));
  }

  async function extend(local) {
    if (!local) return;
    const r = await call('POST', `${path}/extend`, { until: new Date(local).toISOString().replace(/\.\d+Z$/, 'Z') });
    say(r.ok ? 'done' : errorKey(r));
    load();
  }

  async function newCode() {
    const ok = await confirmAction({ title: t('newCode'), text: t('newCodeText'), reason: false });
    if (ok === null) return;
    const r = await call('POST', `${path}/new-code`);
    say(r.ok ? 'newCodeDone' : errorKey(r));
    load();
  }

  load();
  return () => {};
}
