// The wall: every compartment as a tile laid out like the cabinet (columns by the letters of
// its id, rows by its number: A1 above A2, B1 right of A1), live from the daemon's server-sent
// event stream (a `state` event after every change: the compartments are read again then).
// Choosing a tile shows its facts and its actions, each confirmed with a reason; the newest
// audit entries are shown below, so an action's entry is seen at once.

import { all, call, latestAudit } from './api.js';
import { confirmAction, el, errorKey, say } from './dom.js';
import { age, t, when } from './i18n.js';

/** Parcel states in which a parcel lies in its compartment. */
const INSIDE = ['stored', 'expired'];

export function render(main) {
  const grid = el('div', { class: 'wall', id: 'wall' });
  const summary = el('p', { class: 'summary', id: 'summary' });
  const detail = el('section', { class: 'detail', id: 'detail', 'aria-live': 'polite' });
  const audit = el('ol', { class: 'audit', id: 'audit' });
  main.append(
    el('h1', {}, t('wallTitle')), summary, grid, detail,
    el('h2', {}, t('auditRecent')), audit,
  );
  let compartments = [];
  const parcels = new Map();
  let selected = null;
  let timer = null;

  // One read at a time, and one more if a change came meanwhile: answers never land out of order.
  let reading = null;
  let again = false;
  function refresh() {
    if (reading) { again = true; return reading; }
    reading = (async () => {
      do { again = false; await read(); } while (again);
      reading = null;
    })();
    return reading;
  }

  async function read() {
    const r = await call('GET', '/api/v1/compartments');
    if (!r.ok) { say(errorKey(r)); return; }
    compartments = r.data.compartments;
    const unknown = compartments.filter((c) => c.parcel_id && !parcels.has(c.parcel_id));
    if (unknown.length > 5) {
      for (const state of INSIDE) {
        for (const p of (await all(`/api/v1/parcels?state=${state}&limit=500`, 'parcels')) ?? []) parcels.set(p.id, p);
      }
    }
    for (const c of unknown.filter((c) => !parcels.has(c.parcel_id))) {
      const p = await call('GET', `/api/v1/parcels/${encodeURIComponent(c.parcel_id)}`);
      if (p.ok) parcels.set(p.data.id, p.data);
    }
    draw();
  }

  function draw() {
    const place = compartments.map((c) => {
      const m = /^(\D*)(\d*)/.exec(c.id);
      return { c, col: m[1], row: Number(m[2] || 0) };
    });
    const cols = [...new Set(place.map((p) => p.col))].sort();
    const rows = [...new Set(place.map((p) => p.row))].sort((a, b) => a - b);
    grid.style.setProperty('--cols', String(cols.length));
    grid.replaceChildren(...place.map(({ c, col, row }) => tile(c, cols.indexOf(col) + 1, rows.indexOf(row) + 1)));
    const count = (s) => compartments.filter((c) => c.state === s).length;
    summary.textContent = t('wallSummary', {
      n: compartments.length, free: count('free'), occupied: count('occupied'), faults: count('fault') + count('disabled'),
    });
    showDetail();
  }

  /** Open while nothing was opened: forced, or left open. */
  const alarming = (c) => c.state === 'fault' || !c.available || (c.door === 'open' && c.state !== 'open');

  function tile(c, column, row) {
    const p = c.parcel_id ? parcels.get(c.parcel_id) : null;
    return el('button', {
      type: 'button',
      class: `tile state-${c.state} door-${c.door}${alarming(c) ? ' alarm' : ''}`,
      style: { gridColumn: String(column), gridRow: String(row) },
      dataset: { id: c.id, state: c.state, door: c.door },
      'aria-pressed': String(selected === c.id),
      onclick: () => { selected = c.id; draw(); document.getElementById('detail').focus(); },
    },
    el('strong', { class: 'tile-id' }, c.id),
    el('span', { class: 'tile-size' }, c.size),
    el('span', { class: 'tile-state' }, t(`state_${c.state}`)),
    el('span', { class: 'tile-door' }, t(`door_${c.door}`)),
    p ? el('span', { class: 'tile-parcel' }, `${p.tracking_id} · ${age(p.stored_at ?? p.deposited_at)}`) : null);
  }

  function showDetail() {
    const c = compartments.find((x) => x.id === selected);
    if (!c) { detail.replaceChildren(); return; }
    const p = c.parcel_id ? parcels.get(c.parcel_id) : null;
    const action = (key, run) => el('button', { type: 'button', onclick: run }, t(key));
    detail.setAttribute('tabindex', '-1');
    detail.replaceChildren(
      el('h2', {}, t('compartmentTitle', { id: c.id })),
      el('dl', {},
        el('dt', {}, t('size')), el('dd', {}, c.size + (c.accessible ? ` · ${t('accessible')}` : '')),
        el('dt', {}, t('state')), el('dd', {}, t(`state_${c.state}`)),
        el('dt', {}, t('door')), el('dd', { id: 'detail-door' }, t(`door_${c.door}`)),
        el('dt', {}, t('bus')), el('dd', {}, t(c.available ? 'busUp' : 'busDown')),
        p ? [el('dt', {}, t('parcel')), el('dd', {}, `${p.tracking_id} · ${t(`parcel_${p.state}`)} · ${when(p.stored_at ?? p.deposited_at)}`)] : null),
      el('p', { class: 'actions' },
        action('openMaintenance', () => act(c, 'open', 'openMaintenance', 'openMaintenanceText')),
        c.state === 'disabled'
          ? action('enable', () => act(c, 'enable', 'enable', 'enableText', false))
          : action('disable', () => act(c, 'disable', 'disable', 'disableText'))),
    );
  }

  async function act(c, verb, title, text, reason = true) {
    const why = await confirmAction({ title: `${t(title)} ${c.id}`, text: t(text, { id: c.id }), reason });
    if (why === null) return;
    const r = await call('POST', `/api/v1/compartments/${encodeURIComponent(c.id)}/${verb}`, reason ? { reason: why } : undefined);
    say(r.ok ? 'done' : errorKey(r));
    await Promise.all([refresh(), showAudit()]);
  }

  async function showAudit() {
    const entries = await latestAudit(10);
    audit.replaceChildren(...entries.map((e) => el('li', {},
      el('time', { datetime: e.at }, when(e.at)), ' ',
      el('strong', {}, e.action), ' ',
      el('span', {}, [e.detail.compartment, e.detail.reason, e.detail.tracking_id, e.detail.name].filter(Boolean).join(' · ')),
      ' ', el('span', { class: 'muted' }, e.actor))));
  }

  const source = new EventSource('/api/v1/kiosk/events');
  source.addEventListener('state', () => { say(null); refresh(); });
  source.addEventListener('error', () => say('reconnecting'));
  // Ages move on without a change of state.
  timer = setInterval(draw, 60_000);
  // The first read does not wait for the stream's first event.
  refresh();
  showAudit();
  return () => { source.close(); clearInterval(timer); };
}
