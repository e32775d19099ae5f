// The logged-in courier and the idle clock that logs them out. The session itself is the
// daemon's HttpOnly cookie; the page only keeps who is logged in and which doors they opened.

import { call } from './api.js';
import { doorOf } from './live.js';
import { current, notPaired, setLanguage, show } from './screen.js';
import { startScreen } from './screens/start.js';
import { DEFAULT_LANGUAGE } from './strings.js';

/** A logged-in courier who neither touches nor types for this long is logged out, unless a
 * door they opened is still open (they are busy at the locker, not gone). */
const COURIER_IDLE_MS = 90_000;

/** The logged-in courier ({name, doors}: the compartments they opened, pruned of closed
 * ones when the idle clock runs out), or null. */
export let courier = null;

let idleTimer = null;

/** A courier logged in through the page as `name`. */
export function beginSession(name) {
  courier = { name, doors: new Set() };
}

export async function logout(reason) {
  if (!courier) return;
  courier = null;
  await call('POST', '/api/v1/courier/logout');
  setLanguage(DEFAULT_LANGUAGE);
  if (!notPaired) show(startScreen({ key: reason, tone: 'ok' }));
}

/** Any 401 on a courier route: the daemon ended the session (logout elsewhere, expiry). */
export function sessionEnded() {
  courier = null;
  show(startScreen({ key: 'sessionEnded', tone: 'warn' }));
}

/** The kiosk was unpaired: the page forgets its courier and stops the idle clock. */
export function dropSession() {
  courier = null;
  clearTimeout(idleTimer);
}

/** Restarts the idle clock on courier screens; any touch or key press calls it. */
export function armIdle() {
  clearTimeout(idleTimer);
  idleTimer = null;
  if (current?.idle && !notPaired) idleTimer = setTimeout(idleExpired, COURIER_IDLE_MS);
}

function idleExpired() {
  // Doors seen closed by now are done with; the courier is still busy while any is open.
  for (const id of courier?.doors ?? []) if (doorOf(id) !== 'open') courier.doors.delete(id);
  if (courier?.doors.size) return armIdle();
  if (courier) logout('idleLoggedOut');
  else show(startScreen());
}
