// The console's entry (docs/console.md): the views by address (`#wall`, …), the language
// buttons and sign-out. Each view module exports `render(main)` returning a clean-up function.

import { call } from './api.js';
import { languageButtons, translate } from './i18n.js';
import * as codes from './codes.js';
import * as health from './health.js';
import * as parcels from './parcels.js';
import * as people from './people.js';
import * as wall from './wall.js';

const VIEWS = { wall, parcels, people, codes, health };
const main = document.getElementById('view');
let cleanup = () => {};

function show() {
  const [name, ...rest] = location.hash.slice(1).split('/');
  const view = VIEWS[name] ?? wall;
  cleanup();
  main.replaceChildren();
  for (const link of document.querySelectorAll('#nav a')) {
    link.toggleAttribute('aria-current', link.getAttribute('href') === `#${name || 'wall'}`);
    if (link.hasAttribute('aria-current')) link.setAttribute('aria-current', 'page');
  }
  cleanup = view.render(main, rest.map(decodeURIComponent)) ?? (() => {});
}

// A console link opened in a browser that is signed in already: its code leaves the address
// bar unspent (it lapses by itself); this session goes on.
if (location.hash.startsWith('#link=')) history.replaceState(null, '', '/console/#wall');
translate();
languageButtons(document.getElementById('langs'), show);
document.getElementById('signout').addEventListener('click', async () => {
  await call('POST', '/console/signout');
  location.replace('/console/');
});
window.addEventListener('hashchange', show);
show();
