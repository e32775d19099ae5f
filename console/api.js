// The daemon's API as the console calls it (docs/console.md): same-origin fetch with the
// session cookie, the CSRF header on every non-GET (the kiosk's mechanism). A 401 means the
// session is over (signed out elsewhere, expired, token deleted): back to the sign-in page.

const CSRF = { 'X-Lockerd-Csrf': '1' };

/** One call: `{ok, status, data, error}` (`data`: the JSON, or an SVG's text); `error.code` is `network` when nothing answered. */
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
  if (res.status === 401 && path !== '/console/session') {
    location.assign('/console/');
    return { ok: false, status: 401, data: null, error: { code: 'unauthorized' } };
  }
  let data = null;
  if ((res.headers.get('content-type') ?? '').startsWith('image/svg+xml')) data = await res.text();
  else try { data = await res.json(); } catch { /* an empty 202 or 204 */ }
  return { ok: res.ok, status: res.status, data, error: res.ok ? null : (data?.error ?? { code: 'unexpected' }) };
}

/** Every page of a paged list route (`next` cursors), up to `max` items. */
export async function all(path, key, { max = 5000, cursor = 'after' } = {}) {
  const items = [];
  let next = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const r = await call('GET', next === null ? path : `${path}${sep}${cursor}=${encodeURIComponent(next)}`);
    if (!r.ok) return null;
    items.push(...r.data[key]);
    next = r.data.next ?? null;
  } while (next !== null && items.length < max);
  return items;
}

/** The newest `n` audit entries, newest first (the log pages oldest first: walk to its end,
 * starting after the last seq seen). */
let auditSeen = 0;
const auditTail = [];
export async function latestAudit(n = 20) {
  for (;;) {
    const r = await call('GET', `/api/v1/audit?after=${auditSeen}&limit=1000`);
    if (!r.ok) return auditTail.slice(-n).reverse();
    auditTail.push(...r.data.entries);
    if (auditTail.length > 200) auditTail.splice(0, auditTail.length - 200);
    if (r.data.entries.length) auditSeen = r.data.entries.at(-1).seq;
    if (r.data.next === null) break;
  }
  return auditTail.slice(-n).reverse();
}
