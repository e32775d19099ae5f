// People (`#people`): couriers (add, with the TOTP secret shown once as a QR code; list;
// remove), API tokens (kiosk, sync, operator: create, shown once; list; delete), and a one-time
// sign-in link for another device (shown once, as a QR code and as text).

import { call } from './api.js';
import { confirmAction, el, errorKey, say } from './dom.js';
import { t, when } from './i18n.js';
import { pagedTable, secretBox } from './lists.js';

export function render(main) {
  const couriers = el('div', { id: 'couriers' });
  const tokens = el('div', { id: 'tokens' });
  const shownOnce = el('div', { id: 'shown-once', 'aria-live': 'polite' });
  const name = el('input', { id: 'courier-name', autocomplete: 'off', required: true, maxlength: '64' });
  const tokenName = el('input', { id: 'token-name', autocomplete: 'off', required: true, maxlength: '64' });
  const role = el('select', { id: 'token-role' }, ['kiosk', 'sync', 'operator'].map((r) => el('option', { value: r }, t(`role_${r}`))));
  const deviceName = el('input', { id: 'device-name', autocomplete: 'off', required: true, maxlength: '64' });
  main.append(
    el('h1', {}, t('peopleTitle')), shownOnce,
    el('h2', {}, t('couriers')),
    el('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); addCourier(); } },
      el('label', { for: 'courier-name' }, t('courierName')), name,
      el('button', { type: 'submit', class: 'primary' }, t('addCourier'))),
    couriers,
    el('h2', {}, t('tokens')),
    el('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); addToken(); } },
      el('label', { for: 'token-name' }, t('tokenName')), tokenName,
      el('label', { for: 'token-role' }, t('role')), role,
      el('button', { type: 'submit', class: 'primary' }, t('createToken'))),
    tokens,
    el('h2', {}, t('linkDevice')),
    el('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); linkDevice(); } },
      el('label', { for: 'device-name' }, t('linkName')), deviceName,
      el('button', { type: 'submit', class: 'primary' }, t('makeLink'))),
  );

  async function loadCouriers() {
    const r = await call('GET', '/api/v1/couriers');
    if (!r.ok) { say(errorKey(r)); return; }
    pagedTable(couriers, [t('courierName'), ''], r.data.couriers.filter((c) => c.active !== false), (c) => [
      c.name,
      el('button', { type: 'button', onclick: () => removeCourier(c) }, t('remove')),
    ]);
  }

  async function addCourier() {
    const r = await call('POST', '/api/v1/couriers', { name: name.value.trim() });
    if (!r.ok) { say(errorKey(r)); return; }
    name.value = '';
    const qr = await call('POST', '/console/qr', { text: r.data.otpauth_url });
    const svg = qr.ok ? qr.data : null;
    shownOnce.replaceChildren(secretBox(t('courierAdded', { name: r.data.name }), [
      svg ? el('img', { class: 'qr', id: 'totp-qr', alt: t('qrAlt', { name: r.data.name }), src: `data:image/svg+xml;base64,${btoa(svg)}` }) : null,
      el('p', {}, t('qrHint')),
      el('p', {}, el('a', { id: 'otpauth', href: r.data.otpauth_url }, t('openInApp'))),
      el('p', {}, t('secretText'), ' ', el('code', { id: 'totp-secret' }, r.data.totp_secret)),
    ]));
    loadCouriers();
  }

  async function removeCourier(c) {
    if (await confirmAction({ title: `${t('remove')} ${c.name}`, text: t('removeCourierText', { name: c.name }), reason: false }) === null) return;
    const r = await call('DELETE', `/api/v1/couriers/${encodeURIComponent(c.id)}`);
    say(r.ok ? 'done' : errorKey(r));
    loadCouriers();
  }

  async function loadTokens() {
    const r = await call('GET', '/api/v1/tokens');
    if (!r.ok) { say(errorKey(r)); return; }
    pagedTable(tokens, [t('tokenName'), t('role'), t('created'), ''], r.data.tokens, (k) => [
      k.name, t(`role_${k.role}`), when(k.created_at),
      el('button', { type: 'button', onclick: () => removeToken(k) }, t('delete')),
    ]);
  }

  async function addToken() {
    const r = await call('POST', '/api/v1/tokens', { role: role.value, name: tokenName.value.trim() });
    if (!r.ok) { say(errorKey(r)); return; }
    tokenName.value = '';
    shownOnce.replaceChildren(secretBox(t('tokenCreated', { name: r.data.name }), [
      el('p', {}, el('code', { id: 'new-token' }, r.data.token)),
    ]));
    loadTokens();
  }

  // The link's code is in its fragment: the QR code and the text below are its only copies.
  async function linkDevice() {
    const r = await call('POST', '/api/v1/console/links', { name: deviceName.value.trim() });
    if (!r.ok) { say(errorKey(r)); return; }
    deviceName.value = '';
    const url = `${location.origin}${r.data.url}`;
    const qr = await call('POST', '/console/qr', { text: url });
    shownOnce.replaceChildren(secretBox(t('linkMade', { name: r.data.name }), [
      qr.ok ? el('img', { class: 'qr', id: 'link-qr', alt: t('linkQrAlt', { name: r.data.name }), src: `data:image/svg+xml;base64,${btoa(qr.data)}` }) : null,
      el('p', {}, t('linkHint', { name: r.data.name })),
      el('p', {}, el('code', { id: 'console-link' }, url)),
    ]));
    loadTokens();
  }

  async function removeToken(k) {
    if (await confirmAction({ title: `${t('delete')} ${k.name}`, text: t('deleteTokenText', { name: k.name }), reason: false }) === null) return;
    const r = await call('DELETE', `/api/v1/tokens/${encodeURIComponent(k.name)}`);
    say(r.ok ? 'done' : errorKey(r));
    loadTokens();
  }

  loadCouriers();
  loadTokens();
  return () => {};
}
