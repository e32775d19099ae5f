// The courier's flow through the page only: login, a scanned tracking id, a size, "Doesn't
// fit", Done, a second parcel cancelled, a return of an expired parcel, logout; and the idle
// timeout. Doors move through the sim route, as a hand would; outcomes are checked in the API.

import assert from 'node:assert/strict';
import * as api from './lib/api.js';
import { camera, scenario } from './lib/browser.js';
import { bigId, button, logIn, tapText } from './lib/ui.js';

const SIZES = ['S', 'M', 'L', 'XL'];
const sizeButton = (page, size) => page.locator(`button.size[data-size="${size}"]`);

scenario('a courier deposits, resizes, cancels, returns an expired parcel and logs out', async (kit) => {
  const { page } = await kit.paired('e2e-courier');
  const shoot = camera('courier');
  await shoot(page, 'start');
  await logIn(page, await api.newCourier(), api.totp, shoot);
  await shoot(page, 'tracking');

  // First parcel: a USB scanner types the id and ends with Enter, into the focused field.
  const first = api.unique('TRK').toUpperCase();
  await page.keyboard.type(first);
  await page.keyboard.press('Enter');
  await page.getByText(`Choose the size for ${first}`).waitFor();
  await shoot(page, 'size');
  for (const size of SIZES) assert.equal(await sizeButton(page, size).isEnabled(), true, `${size} has free compartments`);
  // Live: with both XL compartments taken out of service the XL button goes off, without a
  // reload, and comes back when they return.
  for (const id of ['D1', 'D2']) await api.expect(200, 'POST', `/api/v1/compartments/${id}/disable`, { body: { reason: 'e2e' } });
  await page.locator('button.size[data-size="XL"]:disabled', { hasText: 'none free' }).waitFor();
  await shoot(page, 'size-no-xl');
  for (const id of ['D1', 'D2']) await api.expect(200, 'POST', `/api/v1/compartments/${id}/enable`);
  await page.locator('button.size[data-size="XL"]:enabled').waitFor();
  await sizeButton(page, 'S').click();

  // The latch pulse pops the door open by itself; the page follows the live feed.
  await page.getByText('Put the parcel in, then close the door.').waitFor();
  const small = await bigId(page).textContent();
  assert.equal((await api.compartment(small)).size, 'S');
  const parcel = await api.parcelByTracking(first);
  assert.equal(parcel.compartment, small);
  await shoot(page, 'deposit-open');

  // Doesn't fit: only larger sizes are offered.
  await button(page, 'Doesn’t fit').click();
  await page.getByText('Choose a larger size').waitFor();
  assert.equal(await sizeButton(page, 'S').isDisabled(), true, 'S is not larger than S');
  assert.doesNotMatch(await sizeButton(page, 'S').textContent(), /none free/, 'S is off for being small, not full');
  await shoot(page, 'larger');
  await sizeButton(page, 'M').click();
  await page.getByText(`Please also close the door of compartment ${small}.`).waitFor();
  const medium = await bigId(page).textContent();
  assert.notEqual(medium, small);
  assert.equal((await api.compartment(medium)).size, 'M');
  await page.getByText('Put the parcel in, then close the door.').waitFor();
  await shoot(page, 'resized');

  // Done while the door is open: the page asks to close it first.
  await button(page, 'Done').click();
  await page.getByText('Please close the door first, then press Done.').waitFor();
  await api.simDoor(small, false);
  await api.simDoor(medium, false);
  await page.getByText('The door is closed. Press Done to finish.').waitFor();
  await button(page, 'Done').click();
  await page.getByText(`Parcel ${first} is in compartment ${medium}.`).waitFor();
  await shoot(page, 'stored');
  const stored = await api.parcel(parcel.id);
  assert.equal(stored.state, 'stored');
  assert.equal(stored.compartment, medium);
  await api.waitFor(`${small} to be free again`, async () => (await api.compartment(small)).state === 'free');

  // Second parcel without logging in again, typed on the on-screen keyboard, then cancelled.
  await button(page, 'Next parcel').click();
  const second = api.unique('TRK').toUpperCase();
  await tapText(page, second);
  await button(page, 'Continue').click();
  const toggle = button(page, 'Prefer a low (accessible) compartment');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  const asked = page.waitForRequest((r) => r.url().endsWith('/api/v1/deposits') && r.method() === 'POST');
  await sizeButton(page, 'S').click();
  assert.deepEqual((await asked).postDataJSON(), { tracking_id: second, size: 'S', accessible: true });
  await page.getByText('Put the parcel in, then close the door.').waitFor();
  const cancelledIn = await bigId(page).textContent();
  assert.equal((await api.compartment(cancelledIn)).accessible, true, 'a low compartment was chosen');
  await button(page, 'Cancel').click();
  await page.getByText(`Take the parcel and close the door of compartment ${cancelledIn}.`).waitFor();
  await shoot(page, 'cancel');
  await api.simDoor(cancelledIn, false);
  await page.getByText('Deposit cancelled.').waitFor();
  await page.getByText('Scan or type the tracking number').waitFor();
  const cancelled = await api.waitParcel((await api.parcelByTracking(second)).id, 'cancelled');
  assert.equal(cancelled.tracking_id, second);

  // The first parcel expires: extend only takes a time in the future, so a moment from now,
  // and the daemon's once-a-second sweep expires it.
  await api.expect(200, 'POST', `/api/v1/parcels/${parcel.id}/extend`, {
    body: { until: new Date(Date.now() + 3000).toISOString() },
  });
  await api.waitParcel(parcel.id, 'expired');
  await button(page, 'Returns').click();
  const item = button(page, `${first} · compartment ${medium}`);
  await item.waitFor();
  await shoot(page, 'returns');
  await item.click();
  await page.getByText('Take the parcel, then close the door.').waitFor();
  assert.equal(await bigId(page).textContent(), medium);
  await api.waitDoor(medium, 'open');
  await shoot(page, 'return-open');
  await api.simDoor(medium, false);
  await page.getByText('No parcels to take back.').waitFor();
  await shoot(page, 'returns-empty');
  await api.waitParcel(parcel.id, 'returned');

  await button(page, 'Log out').click();
  await page.getByText('Logged out.').waitFor();
  await page.getByText('Enter your pickup code').waitFor();
  await shoot(page, 'logged-out');
});

scenario('an idle courier is logged out and the start screen returns', async (kit) => {
  const { page } = await kit.paired('e2e-courier-idle');
  const shoot = camera('courier-idle');
  // The page's timers run on Playwright's clock from its next load on.
  await page.clock.install();
  await page.reload();
  await logIn(page, await api.newCourier(), api.totp);
  await shoot(page, 'logged-in');
  // More than session.js's COURIER_IDLE_MS (90 s) without a touch or a key.
  await page.clock.fastForward('01:35');
  await page.getByText('Logged out after a period of inactivity.').waitFor();
  await page.getByText('Enter your pickup code').waitFor();
  await shoot(page, 'idle-logged-out');
  // The daemon ended the session too: the courier cookie no longer opens the returns list.
  const status = await page.evaluate(async () => (await fetch('/api/v1/courier/returns')).status);
  assert.equal(status, 401);
});

scenario('a courier whose session ends is sent back to the start', async (kit) => {
  const { page } = await kit.paired('e2e-courier-ended');
  const courier = await api.newCourier();
  await logIn(page, courier, api.totp);
  // The operator removes the courier: their sessions end at once.
  await api.expect(204, 'DELETE', `/api/v1/couriers/${courier.id}`);
  await page.keyboard.type(api.unique('TRK').toUpperCase());
  await page.keyboard.press('Enter');
  await sizeButton(page, 'S').click();
  await page.getByText('Your courier session has ended. Please log in again.').waitFor();
  await page.getByText('Enter your pickup code').waitFor();
  await camera('courier-ended')(page, 'session-ended');
});
