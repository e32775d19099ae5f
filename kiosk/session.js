// Who is at the locker and the idle clock that sends them away: the logged-in courier, or a
// delivery driver. Their sessions are the daemon's HttpOnly cookie (a courier's login sets it,
// and so does each delivery, for that parcel only); the page only keeps who is logged in and
// which doors were opened.

import { call } from './api.js';
import { doorOf } from './live.js';
import { current, notPaired, setLanguage, show } from './screen.js';
import { startScreen } from './screens/start.js';
import { DEFAULT_LANGUAGE } from './strings.js';

/** Whoever neither touches nor types for this long is sent away (a courier logged out), unless
 * a door they opened is still open (they are busy at the locker, not gone). */
const COURIER_IDLE_MS = 90_000;

/** The logged-in courier ({name}), or null. */
export let courier = null;

/** The compartments opened for the courier or the delivery on screen, pruned of closed ones
 * when the idle clock runs out. */
const doors = new Set();

let idleTimer = null;

/** A courier logged in through the page as `name`. */
export function beginSession(name) {
  courier = { name };
  doors.clear();
}

/** A delivery driver starts at the locker: no doors opened for them yet. */
export function beginDelivery() {
  doors.clear();
}

/** Compartment `id` was opened for whoever is at the locker. */
export function openedDoor(id) {
  doors.add(id);
}

export async function logout(reason) {
  if (!courier) return;
  courier = null;
  doors.clear();
  await call('POST', '/api/v1/courier/logout');
  setLanguage(DEFAULT_LANGUAGE);
  if (!notPaired) show(startScreen({ key: reason, tone: 'ok' }));
}

/** Any 401 on a courier route: the daemon ended the session (logout elsewhere, expiry). */
export function sessionEnded() {
  courier = null;
  doors.clear();
  show(startScreen({ key: 'sessionEnded', tone: 'warn' }));
}

/** A 401 in a delivery's session: it expired, and the delivery is over for the page. */
export function deliveryEnded() {
  doors.clear();
  show(startScreen({ key: 'deliveryEnded', tone: 'warn' }));
}

/** The kiosk was unpaired: the page forgets its courier and stops the idle clock. */
export function dropSession() {
  courier = null;
  clearTimeout(idleTimer);
}

/** Restarts the idle clock on courier and delivery screens; any touch or key press calls it. */
export function armIdle() {
  clearTimeout(idleTimer);
  idleTimer = null;
  if (current?.idle && !notPaired) idleTimer = setTimeout(idleExpired, COURIER_IDLE_MS);
}

function idleExpired() {
  // Doors seen closed by now are done with; whoever opened them is still busy while any is open.
  for (const id of doors) if (doorOf(id) !== 'open') doors.delete(id);
  if (doors.size) return armIdle();
  if (courier) logout('idleLoggedOut');
  else show(startScreen());
}
