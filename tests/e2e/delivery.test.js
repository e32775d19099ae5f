// Deliveries by drivers without an account, through the page only: a parcel the locker
// expects (scan to open, after a moment with no free compartment for it), one admitted by the
// recipient's delivery PIN after a wrong one, and the owner's standing pickup code opening both
// of its compartments, then finding nothing to collect. Doors move through the sim route, as a
// hand would; outcomes are checked in the API.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import * as api from './lib/api.js';
import { camera, scenario } from './lib/browser.js';
import { bigId, button, deliveryAnswer, finishDelivery, startDelivery, tapDigits, tapText } from './lib/ui.js';

before(async () => {
  await api.expect(204, 'POST', '/api/v1/keypad/unlock');
});
after(async () => {
  // The other tests share this daemon's keypad.
  await api.expect(204, 'POST', '/api/v1/keypad/unlock');
});

scenario('a driver scans a parcel the locker expects and it opens', async (kit) => {
  const { page } = await kit.paired('e2e-deliver-scan');
  const shoot = camera('deliver-scan');
  // In German first: the way in and its screen speak it too.
  await page.getByRole('button', { name: 'DE Deutsch' }).click();
  await button(page, 'Paket abgeben').click();
  await page.getByText('Zustellung: Sendungsnummer scannen oder eingeben').waitFor();
  await shoot(page, 'deliver-de');
  await page.getByRole('button', { name: 'EN English' }).click();
  await button(page, 'Back').click();

  // The cloud expects an XL parcel; both XL compartments are out of service for now.
  const tracking = api.unique('EXP').toUpperCase();
  await api.reserve(tracking, { size: 'XL' });
  for (const id of ['D1', 'D2']) await api.expect(200, 'POST', `/api/v1/compartments/${id}/disable`, { body: { reason: 'e2e' } });
  kit.defer(async () => {
    for (const id of ['D1', 'D2']) await api.request('POST', `/api/v1/compartments/${id}/enable`);
  });
  await startDelivery(page);
  await shoot(page, 'deliver');
  // A USB scanner types the id and ends with Enter, into the focused field.
  await page.keyboard.type(tracking);
  await page.keyboard.press('Enter');
  await page.getByText('No free compartment for this parcel. Please choose another size, or take the parcel with you.').waitFor();
  await shoot(page, 'no-compartment');
  assert.equal((await api.parcels()).some((p) => p.tracking_id === tracking), false, 'nothing was deposited');

  // Back in service: the same scan opens an XL compartment (the reservation's size wins).
  for (const id of ['D1', 'D2']) await api.expect(200, 'POST', `/api/v1/compartments/${id}/enable`);
  assert.equal(await page.locator('#deliver-tracking').inputValue(), tracking, 'the tracking number is kept');
  const answer = deliveryAnswer(page);
  await button(page, 'Continue').click();
  await answer;
  await page.getByText('Put the parcel in, then close the door.').waitFor();
  const id = await bigId(page).textContent();
  assert.equal((await api.compartment(id)).size, 'XL');
  const parcel = await api.parcelByTracking(tracking);
  assert.equal(parcel.compartment, id);
  assert.equal(parcel.delivered_by, 'reservation');
  assert.equal(parcel.courier, null);
  await shoot(page, 'open');

  await finishDelivery(page, { id, tracking, shoot });
  assert.equal((await api.parcel(parcel.id)).state, 'stored');
  await button(page, 'Finish').click();
  await page.getByText('Enter your pickup code').waitFor();
});

scenario('a driver delivers with the recipient\'s delivery PIN after a wrong one', async (kit) => {
  const pin = await api.accessCode('delivery');
  const { page } = await kit.paired('e2e-deliver-pin');
  const shoot = camera('deliver-pin');
  const tracking = api.unique('PIN').toUpperCase();
  await startDelivery(page);
  await tapText(page, tracking);
  await button(page, 'Continue').click();
  // Not expected: the page asks for a PIN.
  await page.getByText('Enter the delivery PIN').waitFor();
  await page.getByText(`To deliver ${tracking}, type the delivery PIN from the recipient, then press OK.`).waitFor();
  await shoot(page, 'pin');

  // A wrong PIN: refused without saying which part was wrong, and one keypad failure.
  const before = (await api.keypad()).failures;
  await tapDigits(page, api.wrongCode(pin.code));
  await button(page, 'OK').click();
  await page.getByText('This delivery was not accepted. Please check the tracking number and the PIN.').waitFor();
  assert.equal((await api.keypad()).failures, before + 1, 'a wrong PIN is a keypad failure');
  assert.equal(await page.locator('#pin').inputValue(), '', 'the wrong PIN is cleared');
  await shoot(page, 'wrong-pin');

  // The right PIN on a physical keyboard: a small compartment opens (S unless picked).
  const answer = deliveryAnswer(page);
  await page.keyboard.type(pin.code);
  await page.keyboard.press('Enter');
  await answer;
  await page.getByText('Put the parcel in, then close the door.').waitFor();
  const small = await bigId(page).textContent();
  assert.equal((await api.compartment(small)).size, 'S');
  const parcel = await api.parcelByTracking(tracking);
  assert.equal(parcel.delivered_by, `pin:${pin.name}`);

  // Doesn't fit: a larger compartment, in the delivery's own session.
  await button(page, 'Doesn’t fit').click();
  await page.getByText('Choose a larger size').waitFor();
  const resized = page.waitForResponse((r) => r.url().endsWith(`/api/v1/deposits/${parcel.id}/resize`));
  await page.locator('button.size[data-size="M"]').click();
  assert.equal((await resized).status(), 201);
  await page.getByText(`Please also close the door of compartment ${small}.`).waitFor();
  const medium = await bigId(page).textContent();
  assert.equal((await api.compartment(medium)).size, 'M');
  await shoot(page, 'resized');
  await api.simDoor(small, false);
  await finishDelivery(page, { id: medium, tracking, shoot });
  assert.equal((await api.parcel(parcel.id)).compartment, medium);
});

scenario('a standing pickup code opens both its compartments, then has nothing to collect', async (kit) => {
  const first = await api.storedParcel('S');
  const second = await api.storedParcel('M');
  const ids = [first.compartment, second.compartment];
  const standing = await api.accessCode('pickup', { compartments: ids });
  const { page } = await kit.paired('e2e-standing');
  const shoot = camera('standing');

  await tapDigits(page, standing.code);
  await button(page, 'OK').click();
  await page.getByText('Close every door when done.').waitFor();
  assert.deepEqual((await bigId(page).allTextContents()).sort(), [...ids].sort(), 'every compartment it opened is shown');
  assert.match(await page.locator('h1.compartment').innerText(), /^Compartments\b[\s\S]*\bare open$/);
  for (const id of ids) await api.waitDoor(id, 'open');
  await shoot(page, 'both-open');

  // One door closed: the page waits for the other.
  await api.simDoor(first.compartment, false);
  await api.waitParcel(first.parcel, 'collected');
  assert.equal(await page.locator('#screen').getAttribute('data-screen'), 'pickup-open');
  await page.getByText('Close every door when done.').waitFor();
  await api.simDoor(second.compartment, false);
  await page.getByText('Thank you!').waitFor();
  await api.waitParcel(second.parcel, 'collected');
  await page.getByText('Enter your pickup code').waitFor();

  // Nothing left in its scope: said so, nothing opens, and it is no keypad failure.
  const failures = (await api.keypad()).failures;
  await page.keyboard.type(standing.code);
  await page.keyboard.press('Enter');
  await page.getByText('Nothing is waiting for you right now.').waitFor();
  await shoot(page, 'nothing-to-collect');
  assert.equal((await api.keypad()).failures, failures);
  for (const id of ids) assert.equal((await api.compartment(id)).door, 'closed');
});
