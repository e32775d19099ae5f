// The recipient's flow through the page only: a wrong code (attempts left), the right code,
// the door opened and closed by hand (the sim route), back to the start; a problem reported.

import assert from 'node:assert/strict';
import { before } from 'node:test';
import * as api from './lib/api.js';
import { camera, scenario } from './lib/browser.js';
import { bigId, button, keypad, tapDigits } from './lib/ui.js';

before(async () => {
  // A lockout left by an earlier test would hide what this one is about.
  await api.expect(204, 'POST', '/api/v1/keypad/unlock');
});
scenario('a recipient collects a parcel after one wrong code', async (kit) => {
  const stored = await api.storedParcel('S');
  const { page } = await kit.paired('e2e-recipient');
  const shoot = camera('recipient');
  await shoot(page, 'start');

  // A wrong code on the on-screen keypad: a calm message with the attempts left, as the
  // daemon counts them, and nothing about whether the code exists.
  await tapDigits(page, api.wrongCode(stored.code));
  await button(page, 'OK').click();
  await page.getByText(/attempts? left/).waitFor();
  const { failures } = await api.keypad();
  const left = api.KEYPAD_MAX_FAILURES - failures;
  await page.getByText(`${left} attempt${left === 1 ? '' : 's'} left`).waitFor();
  await shoot(page, 'wrong-code');

  // The right code typed on a physical keyboard, Enter to submit.
  await page.keyboard.type(stored.code);
  await page.keyboard.press('Enter');
  await page.getByText(`Compartment ${stored.compartment} is open`).waitFor();
  assert.equal(await bigId(page).textContent(), stored.compartment);
  await shoot(page, 'open');
  await page.getByText('Close the door when done.').waitFor();
  await api.waitDoor(stored.compartment, 'open');
  await shoot(page, 'close-the-door');
  assert.equal((await api.parcel(stored.parcel)).state, 'stored', 'collected only once the door closes');

  await api.simDoor(stored.compartment, false);
  await page.getByText('Thank you!').waitFor();
  await shoot(page, 'thanks');
  await page.getByText('Enter your pickup code').waitFor();
  await keypad(page).waitFor();
  await shoot(page, 'back-to-start');
  const collected = await api.waitParcel(stored.parcel, 'collected');
  assert.ok(collected.collected_at);
  assert.equal((await api.keypad()).failures, 0, 'a right code clears the failure count');
});

scenario('a recipient reports an empty compartment', async (kit) => {
  const stored = await api.storedParcel('S');
  const { page } = await kit.paired('e2e-recipient');
  const shoot = camera('report');
  await tapDigits(page, stored.code);
  await button(page, 'OK').click();
  await page.getByText('Close the door when done.').waitFor();
  await button(page, 'Report a problem').click();
  await shoot(page, 'choices');
  await button(page, 'Compartment was empty').click();
  await page.getByText('Thank you, reported.').waitFor();
  await shoot(page, 'reported');

  const reported = await api.waitFor('an incident.reported event', async () => (await api.events())
    .find((e) => e.type === 'incident.reported' && e.data.parcel_id === stored.parcel));
  assert.equal(reported.data.kind, 'empty');
  assert.equal(reported.data.compartment, stored.compartment);

  await api.simDoor(stored.compartment, false);
  await page.getByText('Enter your pickup code').waitFor();
  await api.waitParcel(stored.parcel, 'collected');
});

scenario('the language switch is on every screen and changes every word', async (kit) => {
  const { page } = await kit.paired('e2e-recipient');
  const shoot = camera('language');
  await page.getByRole('button', { name: 'DE Deutsch' }).click();
  await page.getByText('Abholcode eingeben').waitFor();
  await button(page, 'Zusteller').waitFor();
  await shoot(page, 'start-de');
  await button(page, 'Zusteller').click();
  await page.getByText('Anmeldung für Zusteller').waitFor();
  await page.getByRole('button', { name: 'EN English' }).click();
  await page.getByText('Courier login').waitFor();
  await button(page, 'Back').click();
  await page.getByText('Enter your pickup code').waitFor();
});
