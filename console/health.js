// Health (`#health`): the buses with their last error, the keypad's lockout (with unlock), the
// sync feed's backlog and push state (from /healthz), and the audit chain verified now with
// the database's size and the disk's room (GET /api/v1/audit/verify).

import { call } from './api.js';
import { confirmAction, el, errorKey, say } from './dom.js';
import { t, when } from './i18n.js';

const MB = 1024 * 1024;

export function render(main) {
  const parts = {
    status: el('p', { id: 'health-status', class: 'summary' }),
    buses: el('div', { id: 'buses' }),
    keypad: el('div', { id: 'keypad' }),
    sync: el('div', { id: 'sync' }),
    audit: el('div', { id: 'audit-check' }),
  };
  main.append(
    el('h1', {}, t('healthTitle')), parts.status,
    el('h2', {}, t('buses')), parts.buses,
    el('h2', {}, t('keypadTitle')), parts.keypad,
    el('h2', {}, t('syncTitle')), parts.sync,
    el('h2', {}, t('auditTitle')), parts.audit,
  );
  const facts = (...pairs) => el('dl', {}, pairs.filter(Boolean).map(([k, v]) => [el('dt', {}, t(k)), el('dd', {}, String(v))]));

  async function load() {
    const h = await call('GET', '/healthz');
    if (h.data) {
      const d = h.data;
      parts.status.textContent = t(d.status === 'ok' ? 'healthOk' : 'healthDegraded');
      parts.status.className = `summary ${d.status === 'ok' ? 'good' : 'bad'}`;
      parts.buses.replaceChildren(el('table', {}, el('tbody', {}, d.buses.map((b) => el('tr', { class: b.ok ? '' : 'bad' },
        el('td', {}, b.name), el('td', {}, t(b.ok ? 'busUp' : 'busDown')), el('td', {}, b.last_error ?? ''))))));
      const s = d.sync;
      parts.sync.replaceChildren(s ? facts(
        ['lastSeq', s.last_seq], ['ackedSeq', s.acked_seq], ['unacked', s.unacked],
        ['oldestUnacked', s.oldest_unacked_age_s === null ? '–' : t('seconds', { n: s.oldest_unacked_age_s })],
        ['push', s.push ? `${s.push.state} (${s.push.delivered_seq})` : t('pushOff')],
      ) : el('p', {}, t('unexpected')));
    }
    const k = await call('GET', '/api/v1/keypad');
    if (k.ok) {
      const locked = k.data.locked_until && Date.parse(k.data.locked_until) > Date.now();
      parts.keypad.replaceChildren(
        facts(['keypadState', t(locked ? 'keypadLocked' : 'keypadOpen')],
          locked ? ['lockedUntil', when(k.data.locked_until)] : null,
          ['failures', k.data.failures], ['lockoutsInARow', k.data.lockouts_in_a_row]),
        el('p', { class: 'actions' }, el('button', { type: 'button', id: 'unlock', onclick: unlock }, t('unlockKeypad'))));
    }
  }

  async function unlock() {
    const reason = await confirmAction({ title: t('unlockKeypad'), text: t('unlockText'), reason: false });
    if (reason === null) return;
    const r = await call('POST', '/api/v1/keypad/unlock');
    say(r.ok ? 'done' : errorKey(r));
    load();
  }

  async function verify() {
    parts.audit.replaceChildren(el('p', {}, t('verifying')));
    const r = await call('GET', '/api/v1/audit/verify');
    if (!r.ok) { parts.audit.replaceChildren(el('p', { class: 'error' }, t(errorKey(r)))); return; }
    const v = r.data;
    parts.audit.replaceChildren(
      el('p', { id: 'audit-result', class: v.intact ? 'good' : 'bad' },
        v.intact ? t('auditIntact', { n: v.entries }) : t('auditBroken', { why: v.broken })),
      facts(
        ['auditHead', v.head ? `${v.head.seq} · ${v.head.hash}` : '–'],
        ['dbSize', `${(v.db_bytes / MB).toFixed(1)} MB`],
        ['diskFree', v.disk_free_bytes === null ? '–'
          : `${(v.disk_free_bytes / MB).toFixed(0)} MB / ${(v.disk_total_bytes / MB).toFixed(0)} MB`],
      ),
      el('p', { class: 'actions' }, el('button', { type: 'button', onclick: verify }, t('verifyAgain'))));
  }

  load();
  verify();
  const timer = setInterval(load, 10_000);
  return () => clearInterval(timer);
}
