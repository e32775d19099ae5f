// Open drop (`[delivery] open_drop = true`, a porch box): any parcel opens a compartment of the
// size the driver picks, with no reservation and no PIN; a second one is cancelled and taken
// back. tests/kiosk_e2e.rs runs this file alone, against a daemon of its own with open drop on.

import assert from 'node:assert/strict';
import * as api from './lib/api.js';
import { camera, scenario } from './lib/browser.js';
import { bigId, button, deliveryAnswer, finishDelivery, startDelivery, tapText } from './lib/ui.js';

const sizeChoice = (page, size) => page.locator(`.sizes.compact button.size[data-size="${size}"]`);

scenario('with open drop a driver delivers without a PIN, then cancels a second parcel', async (kit) => {
  const { page } = await kit.paired('e2e-open-drop');
  const shoot = camera('open-drop');
  await startDelivery(page);
  // S is picked unless the driver picks another size.
  assert.equal(await sizeChoice(page, 'S').getAttribute('aria-pressed'), 'true');
  await sizeChoice(page, 'M').click();
  assert.equal(await sizeChoice(page, 'M').getAttribute('aria-pressed'), 'true');
  assert.equal(await sizeChoice(page, 'S').getAttribute('aria-pressed'), 'false');
  await shoot(page, 'size-m');

  const tracking = api.unique('DROP').toUpperCase();
  const posted = page.waitForRequest((r) => r.url().endsWith('/api/v1/deliveries') && r.method() === 'POST');
  const answer = deliveryAnswer(page);
  await page.keyboard.type(tracking);
  await page.keyboard.press('Enter');
  assert.deepEqual((await posted).postDataJSON(), { tracking_id: tracking, size: 'M' }, 'no PIN was asked for');
  await answer;
  await page.getByText('Put the parcel in, then close the door.').waitFor();
  const id = await bigId(page).textContent();
  assert.equal((await api.compartment(id)).size, 'M');
  const parcel = await api.parcelByTracking(tracking);
  assert.equal(parcel.delivered_by, 'open_drop');
  await shoot(page, 'open');
  await finishDelivery(page, { id, tracking, shoot });
  assert.equal((await api.parcel(parcel.id)).state, 'stored');

  // The next parcel, typed on the on-screen keyboard, then cancelled: the driver takes it back.
  await button(page, 'Next parcel').click();
  await page.getByText('Delivery: scan or type the tracking number').waitFor();
  const second = api.unique('DROP').toUpperCase();
  await tapText(page, second);
  await button(page, 'Continue').click();
  await page.getByText('Put the parcel in, then close the door.').waitFor();
  const cancelledIn = await bigId(page).textContent();
  assert.equal((await api.compartment(cancelledIn)).size, 'S');
  await button(page, 'Cancel').click();
  await page.getByText(`Take the parcel and close the door of compartment ${cancelledIn}.`).waitFor();
  await shoot(page, 'cancel');
  await api.simDoor(cancelledIn, false);
  await page.getByText('Delivery cancelled.').waitFor();
  await page.getByText('Delivery: scan or type the tracking number').waitFor();
  await shoot(page, 'cancelled');
  await api.waitParcel((await api.parcelByTracking(second)).id, 'cancelled');
});
