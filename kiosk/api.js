// The daemon's API as the page calls it (docs/kiosk.md): same-origin fetch with the cookies,
// the CSRF header on every non-GET, and what a 401 means for the kiosk, for a courier and for
// a delivery (whose own session the daemon sets as the courier's cookie).

import { showNotPaired } from './screen.js';
import { deliveryEnded, sessionEnded } from './session.js';

/** Every non-GET carries it: a form or script on another site cannot set it (docs/kiosk.md). */
const CSRF = { 'X-Lockerd-Csrf': '1' };

/** One API call: `{ok, status, data, error}`; `error.code` is `network` when nothing answered. */
export async function call(method, path, body) {
  const headers = method === 'GET' ? {} : { ...CSRF };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, data: null, error: { code: 'network' } };
  }
  let data = null;
  try { data = await res.json(); } catch { /* an empty 202 or 204 */ }
  return { ok: res.ok, status: res.status, data, error: res.ok ? null : (data?.error ?? { code: 'unexpected' }) };
}

/** A call on the kiosk's own credential: 401 unauthorized means it was unpaired. */
export async function kioskApi(method, path, body) {
  const r = await call(method, path, body);
  if (r.status === 401 && r.error.code === 'unauthorized') {
    showNotPaired();
    return null;
  }
  return r;
}

/** A call in the courier's session: any 401 means the session is over. */
export async function courierApi(method, path, body) {
  const r = await call(method, path, body);
  if (r.status === 401) {
    sessionEnded();
    return null;
  }
  return r;
}

/** A call in a delivery's own session (POST /api/v1/deliveries set it as the courier cookie;
 * it reaches only that parcel): a 401 means it ended (it expires), and with it the delivery. */
export async function deliveryApi(method, path, body) {
  const r = await call(method, path, body);
  if (r.status === 401) {
    deliveryEnded();
    return null;
  }
  return r;
}

/** The strings.js key for an error a screen does not word itself. */
export function errorKey(r) {
  switch (r.error?.code) {
    case 'network': return 'networkError';
    case 'no_compartment_available': return 'noCompartment';
    case 'duplicate_tracking_id': return 'duplicateTracking';
    case 'hardware_unavailable': return 'hardwareUnavailable';
    case 'locked_out': return 'lockedOutSoon';
    default: return 'unexpected';
  }
}
