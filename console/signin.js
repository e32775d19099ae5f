// The sign-in page: the operator token typed once, or a one-time console link's code (the
// address's fragment, `#link=…`, which no server sees), posted to the daemon, which answers with
// the session's HttpOnly cookie. The field is emptied whatever the answer; neither is ever
// stored by the page, and the link's code leaves the address bar as the page loads.

import { call } from './api.js';
import { languageButtons, t, translate } from './i18n.js';

const form = document.getElementById('signin');
const field = document.getElementById('token');
const error = document.getElementById('error');
let shown = null;

function show(key) {
  shown = key;
  error.textContent = key ? t(key) : '';
}

translate();
languageButtons(document.getElementById('langs'), () => show(shown));

let link = location.hash.startsWith('#link=') ? location.hash.slice('#link='.length) : null;
const linked = document.getElementById('linked');
if (link !== null) {
  history.replaceState(null, '', '/console/');
  linked.hidden = false;
  document.getElementById('use-link').focus();
  document.getElementById('use-link').addEventListener('click', async () => {
    const code = link;
    link = null;
    linked.hidden = true;
    if (!code) return;
    show(null);
    const r = await call('POST', '/console/session', { link: code });
    if (r.ok) {
      location.replace('/console/');
      return;
    }
    show(r.status === 401 ? 'linkUnknown' : 'networkError');
    field.focus();
  });
} else {
  field.focus();
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = field.value.trim();
  field.value = '';
  if (!token) return;
  show(null);
  const r = await call('POST', '/console/session', { token });
  if (r.ok) {
    location.replace('/console/');
    return;
  }
  show(r.status === 401 ? 'signInUnknown' : r.status === 403 ? 'signInNotOperator' : 'networkError');
  field.focus();
});
