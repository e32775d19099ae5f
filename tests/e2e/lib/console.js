// The operator console as the browser tests drive it: signing in through its page, the
// layouts its screenshots are taken at, and a free compartment to act on.

import assert from 'node:assert/strict';
import * as api from './api.js';

/** The operator token tests/kiosk_e2e.rs created (typed into the sign-in page). */
export const OPERATOR_TOKEN = process.env.KIOSK_OPERATOR_TOKEN;

/** The console's screenshot sizes: a phone and a laptop. */
export const LAYOUTS = {
  phone: { width: 390, height: 844 },
  laptop: { width: 1280, height: 800 },
};

/** Types `token` into the sign-in page and submits it. */
export async function typeToken(page, token) {
  await page.getByLabel('Operator token').fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** A screen signed in through the page, showing the wall. */
export async function signedIn(kit, layout = 'laptop') {
  const screen = await kit.blank({ viewport: LAYOUTS[layout] });
  const answer = await screen.page.goto('/console/');
  assert.equal(answer.status(), 401, 'without a session: the sign-in page');
  await typeToken(screen.page, OPERATOR_TOKEN);
  await tile(screen.page, 'A1').waitFor();
  return screen;
}

/** A compartment's tile on the wall. */
export const tile = (page, id) => page.locator(`.tile[data-id="${id}"]`);

/** A compartment that is free with its door closed now. */
export async function freeCompartment() {
  const { compartments } = await api.expect(200, 'GET', '/api/v1/compartments');
  const free = compartments.filter((c) => c.state === 'free' && c.door === 'closed' && c.available);
  assert.ok(free.length, 'a free compartment to act on');
  return free.at(-1).id;
}
