// The console's lists: a table shown a page at a time ("More" shows the next page), and the
// box for what is shown only once (a courier's TOTP secret, a token, an access code).

import { el, fill } from './dom.js';
import { t } from './i18n.js';

/** Rows per page of a list. */
export const PAGE = 25;

/** Fills `holder` with a table of `items` (`cells(item)` gives a row's cells), PAGE rows at a
 * time. */
export function pagedTable(holder, headings, items, cells, shown = PAGE) {
  if (!items.length) { holder.replaceChildren(el('p', { class: 'muted' }, t('none'))); return; }
  fill(holder,
    el('table', {},
      el('thead', {}, el('tr', {}, headings.map((h) => el('th', {}, h)))),
      el('tbody', {}, items.slice(0, shown).map((item) => el('tr', {}, cells(item).map((c) => el('td', {}, c)))))),
    items.length > shown
      ? el('button', { type: 'button', onclick: () => pagedTable(holder, headings, items, cells, shown + PAGE) }, t('more'))
      : null,
  );
}

/** What is shown once, with a button that hides it for good. */
export function secretBox(title, children) {
  const box = el('section', { class: 'once', 'aria-label': title },
    el('h2', {}, title), el('p', { class: 'warn' }, t('shownOnce')), children,
    el('button', { type: 'button', onclick: () => box.remove() }, t('doneShown')));
  return box;
}
