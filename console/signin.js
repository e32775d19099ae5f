// The sign-in page: the operator token typed once, posted to the daemon, which answers with
// the session's HttpOnly cookie. The field is emptied whatever the answer; the token is never
// stored by the page.

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
field.focus();

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
