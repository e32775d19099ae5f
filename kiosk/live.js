// The live feed (GET /api/v1/kiosk/events): the only source of door states and free sizes,
// nothing here polls. Screens follow a door with watchDoor and redraw when their liveKey
// changes.

import { current, notPaired, render, renderBar, showNotPaired, whileShown } from './screen.js';

/** Wait before reopening the live feed after the daemon refused it (EventSource retries plain
 * network drops by itself). */
const LIVE_RETRY_MS = 5_000;

/** The last `state` event: compartments by id and the free counts per size. */
export const live = { connected: true, compartments: new Map(), free: null, watches: new Set(), source: null };

export function doorOf(id) {
  return live.compartments.get(id)?.door ?? 'unknown';
}

/** What compartment `id`'s occupancy sensor reads: true, false, or null without a sensor (or
 * while its bus does not answer). */
export function occupiedOf(id) {
  return live.compartments.get(id)?.occupied ?? null;
}

/** Calls `opened` when compartment `id`'s door is seen open, then `closed` once it is seen
 * closed after that (`done`); checked against the state at hand at once, then on every event. */
export function watchDoor(id, { opened, closed } = {}) {
  const watch = {
    seenOpen: false,
    done: false,
    check() {
      const door = doorOf(id);
      if (door === 'open' && !watch.seenOpen) {
        watch.seenOpen = true;
        opened?.();
      } else if (door === 'closed' && watch.seenOpen) {
        watch.done = true;
        watch.stop();
        closed?.();
      }
    },
    stop() { live.watches.delete(watch); },
  };
  live.watches.add(watch);
  whileShown(watch);
  queueMicrotask(() => { if (live.watches.has(watch)) watch.check(); });
  return watch;
}

function applyState(state) {
  live.compartments = new Map((state.compartments ?? []).map((c) => [c.id, c]));
  live.free = state.free ?? null;
  for (const watch of [...live.watches]) if (live.watches.has(watch)) watch.check();
  const key = current?.liveKey?.();
  if (key !== undefined && key !== current.lastLive) {
    current.lastLive = key;
    render();
  }
}

export function connectLive() {
  const source = new EventSource('/api/v1/kiosk/events');
  live.source = source;
  source.addEventListener('state', (e) => {
    let state;
    try { state = JSON.parse(e.data); } catch { return; }
    applyState(state);
  });
  source.addEventListener('open', () => setConnected(true));
  source.addEventListener('error', () => {
    setConnected(false);
    if (source.readyState === EventSource.CLOSED) checkPairing();
  });
}

/** The feed was refused, not dropped: unpaired (the page says so) or a passing fault. */
async function checkPairing() {
  let status = 0;
  try { status = (await fetch('/kiosk/', { cache: 'no-store', credentials: 'same-origin' })).status; } catch { /* offline */ }
  if (status === 401) showNotPaired();
  else setTimeout(connectLive, LIVE_RETRY_MS);
}

function setConnected(connected) {
  if (live.connected === connected) return;
  live.connected = connected;
  if (!notPaired) renderBar();
}
