// Returns: the courier's expired parcels, and opening one's compartment to take it back.

import { courierApi, errorKey } from '../api.js';
import { compartmentTitle, el, note } from '../dom.js';
import { t } from '../i18n.js';
import { watchDoor } from '../live.js';
import { current, render, show } from '../screen.js';
import { logout, openedDoor } from '../session.js';
import { trackingScreen } from './courier.js';

export function returnsScreen() {
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
      openedDoor(id);
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
