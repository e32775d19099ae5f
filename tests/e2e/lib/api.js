// The daemon's HTTP API as the tests' operator uses it (Node's fetch, bearer tokens): set-up,
// the simulated doors, and the checks of what the UI did. Nothing here touches the page.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';

/** Where lockerd listens, and the operator token: set by tests/kiosk_e2e.rs. */
export const BASE = process.env.KIOSK_BASE_URL ?? 'http://127.0.0.1:8080';
const OPERATOR = process.env.KIOSK_OPERATOR_TOKEN;
/** policy.keypad_max_failures of the daemon's config. */
export const KEYPAD_MAX_FAILURES = Number(process.env.KIOSK_KEYPAD_MAX_FAILURES ?? 5);
/** How long the tests wait for any state (a loaded two-core machine: generous). */
export const PATIENCE = 20_000;

if (!OPERATOR) throw new Error('KIOSK_OPERATOR_TOKEN is not set: run these tests through `cargo test --test kiosk_e2e`');

/** One request: `{status, body (parsed JSON or null), text}`. */
export async function request(method, path, { token = OPERATOR, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(BASE + path, {
    method, headers, redirect: 'manual', body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

/** A request that must answer `status`; its JSON body. */
export async function expect(status, method, path, options) {
  const r = await request(method, path, options);
  assert.equal(r.status, status, `${method} ${path} answered ${r.status}: ${r.text}`);
  return r.body;
}

/** Polls `probe` until it returns something truthy; fails after `timeout` with `what` and the
 * last value seen. */
export async function waitFor(what, probe, { timeout = PATIENCE, every = 100 } = {}) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

let serial = 0;
/** A name no other test run uses: lower case, digits and '-' (typeable on the page's keyboard). */
export function unique(prefix) {
  serial += 1;
  return `${prefix}-${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}-${serial}`;
}

// ---- couriers and TOTP (RFC 6238: HMAC-SHA1, 30 s, 6 digits) ----

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const value = alphabet.indexOf(ch);
    if (value < 0) throw new Error(`not base32: ${ch}`);
    bits += value.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

export function totp(secret, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = crypto.createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

/** A new courier: `{id, name, secret}`. A TOTP step is accepted once per courier, so every
 * login in these tests is by a courier of its own. */
export async function newCourier(prefix = 'courier') {
  const c = await expect(201, 'POST', '/api/v1/couriers', { body: { name: unique(prefix) } });
  return { id: c.id, name: c.name, secret: c.totp_secret };
}

// ---- pairing, parcels, doors ----

/** A one-time pairing link (a path) for a kiosk named `name`. */
export async function pairingLink(name) {
  const pairing = await expect(201, 'POST', '/api/v1/kiosk/pairings', { body: { name } });
  assert.match(pairing.url, /^\/kiosk\/pair\?code=/);
  return pairing.url;
}

export const parcel = (id) => expect(200, 'GET', `/api/v1/parcels/${encodeURIComponent(id)}`);
export const compartment = (id) => expect(200, 'GET', `/api/v1/compartments/${encodeURIComponent(id)}`);
export const keypad = () => expect(200, 'GET', '/api/v1/keypad');

export function waitParcel(id, state) {
  return waitFor(`parcel ${id} to be ${state}`, async () => {
    const p = await parcel(id);
    return p.state === state && p;
  });
}

export function waitDoor(id, door) {
  return waitFor(`compartment ${id}'s door to be ${door}`, async () => {
    const c = await compartment(id);
    return c.door === door && c;
  });
}

/** Moves a simulated door, as a hand would. */
export async function simDoor(id, open) {
  await expect(204, 'POST', `/api/v1/sim/doors/${encodeURIComponent(id)}`, { body: { open } });
}

/** Every parcel in the locker's records (up to 500). */
export async function parcels() {
  return (await expect(200, 'GET', '/api/v1/parcels?limit=500')).parcels;
}

/** The parcel with `tracking` (the newest, should there be several). */
export async function parcelByTracking(tracking) {
  return waitFor(`a parcel with tracking id ${tracking}`, async () => {
    return (await parcels()).filter((p) => p.tracking_id === tracking).at(-1);
  });
}

let syncToken;
/** The cloud-sync agent's token (made once). */
async function sync() {
  syncToken ??= (await expect(201, 'POST', '/api/v1/tokens', { body: { role: 'sync', name: unique('e2e-sync') } })).token;
  return syncToken;
}

/** Every event of the feed so far (the sync role's view), oldest first. */
export async function events() {
  await sync();
  const all = [];
  let after = 0;
  for (;;) {
    const page = await expect(200, 'GET', `/api/v1/sync/events?after=${after}&limit=500`, { token: syncToken });
    all.push(...page.events);
    if (page.events.length === 0) return all;
    after = page.events.at(-1).seq;
  }
}

/** The pickup code of a stored parcel, as the cloud gets it (`parcel.stored`). */
export async function pickupCode(parcelId) {
  const stored = (await events()).find((e) => e.type === 'parcel.stored' && e.data.parcel_id === parcelId);
  assert.ok(stored?.data?.pickup_code, `parcel.stored of ${parcelId} carries a pickup code`);
  return stored.data.pickup_code;
}

let kioskToken;
/** A parcel deposited and stored through the API (a courier at a kiosk that holds a bearer
 * token), for the recipient's tests: `{parcel, compartment, code, tracking}`. */
export async function storedParcel(size = 'S') {
  kioskToken ??= (await expect(201, 'POST', '/api/v1/tokens', { body: { role: 'kiosk', name: unique('e2e-setup') } })).token;
  const courier = await newCourier('setup');
  const session = await expect(200, 'POST', '/api/v1/courier/login', {
    token: kioskToken, body: { courier: courier.name, code: totp(courier.secret) },
  });
  const tracking = unique('SETUP').toUpperCase();
  const deposit = await expect(201, 'POST', '/api/v1/deposits', { token: session.token, body: { tracking_id: tracking, size } });
  const id = deposit.compartment.id;
  await waitDoor(id, 'open');
  await simDoor(id, false);
  await waitParcel(deposit.parcel_id, 'closed');
  await expect(200, 'POST', `/api/v1/deposits/${deposit.parcel_id}/confirm`, { token: session.token });
  await expect(204, 'POST', '/api/v1/courier/logout', { token: session.token });
  return { parcel: deposit.parcel_id, compartment: id, code: await pickupCode(deposit.parcel_id), tracking };
}

/** A six-digit code that is not `code` (nor, by any likelihood, another parcel's). */
export function wrongCode(code) {
  return String((Number(code) + 500_001) % 1_000_000).padStart(code.length, '0');
}

// ---- deliveries without an account ----

/** The cloud pre-advises `tracking` (a reservation): `body` is `{size, deposit_pin?, ...}`. */
export async function reserve(tracking, body) {
  const r = await request('PUT', `/api/v1/sync/reservations/${encodeURIComponent(tracking)}`, { token: await sync(), body });
  assert.ok(r.status === 201 || r.status === 200, `reservation of ${tracking} answered ${r.status}: ${r.text}`);
}

/** An access code made by the operator: `{id, name, code, ...}`. */
export function accessCode(purpose, extra = {}) {
  return expect(201, 'POST', '/api/v1/access-codes', { body: { name: unique(`e2e-${purpose}`), purpose, ...extra } });
}
