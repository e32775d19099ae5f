// The console's widgets: elements from a terse description, the confirmation dialog with a
// reason, and the status line.

import { t } from './i18n.js';

/** `el('button', {type: 'button', onclick}, 'text', child…)`: attributes, `on*` listeners,
 * `dataset`, `style` (an object), then children (strings become text; null is skipped). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'class') node.className = value;
    // Through the CSSOM: the page's CSP refuses style attributes.
    else if (name === 'style') Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Replaces what `holder` shows with `children`, leaving out the null ones (as `el` does):
 * `replaceChildren` itself would show them as the text "null". */
export function fill(holder, ...children) {
  holder.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

/** Asks to confirm `title` (`text` says what will happen); with `reason`, a reason must be
 * typed. Resolves to the reason ('' without one), or null when cancelled. */
export function confirmAction({ title, text, reason = true }) {
  const dialog = document.getElementById('confirm');
  const field = document.getElementById('confirm-reason');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-reason-label').hidden = !reason;
  field.required = reason;
  field.value = '';
  return new Promise((resolve) => {
    const cancel = document.getElementById('confirm-cancel');
    const done = (value) => {
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      resolve(value);
    };
    const onCancel = () => { dialog.returnValue = 'cancel'; dialog.close(); };
    const onClose = () => done(dialog.returnValue === 'cancel' ? null : field.value.trim());
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.returnValue = 'cancel';
    dialog.showModal();
    (reason ? field : document.getElementById('confirm-ok')).focus();
    document.getElementById('confirm-ok').onclick = () => { dialog.returnValue = 'ok'; };
  });
}

/** Says `key`'s text (or an API error's) in the status line. */
export function say(key, params) {
  document.getElementById('live').textContent = key ? t(key, params) : '';
}

/** The strings.js key for an API error. */
export function errorKey(r) {
  switch (r.error?.code) {
    case 'network': return 'networkError';
    case 'forbidden': return 'forbidden';
    case 'not_found': return 'notFound';
    case 'conflict': case 'compartment_busy': case 'compartment_conflict': return 'conflict';
    case 'hardware_unavailable': return 'hardwareUnavailable';
    case 'invalid_request': return 'invalidRequest';
    default: return 'unexpected';
  }
}
