// Driving the kiosk page the way a person does: its on-screen keypad and keyboard, its
// buttons by their visible names.

import assert from 'node:assert/strict';
import { simDoor } from './api.js';

export const keypad = (page) => page.getByRole('group', { name: 'Keypad' });
export const keyboard = (page) => page.getByRole('group', { name: 'Keyboard' });

/** Taps `digits` on the on-screen keypad. */
export async function tapDigits(page, digits) {
  for (const d of digits) await keypad(page).getByRole('button', { name: d, exact: true }).click();
}

/** Taps `text` on the on-screen keyboard, switching case with its shift key as needed. */
export async function tapText(page, text) {
  const shift = keyboard(page).getByRole('button', { name: 'Upper or lower case' });
  for (const ch of text) {
    if (/[a-z]/i.test(ch)) {
      const upper = (await shift.getAttribute('aria-pressed')) === 'true';
      if (upper !== (ch === ch.toUpperCase())) await shift.click();
    }
    const name = ch === ' ' ? 'Space' : ch;
    await keyboard(page).getByRole('button', { name, exact: true }).click();
  }
}

export const button = (page, name) => page.getByRole('button', { name, exact: true });

/** The compartment id shown in huge type. */
export const bigId = (page) => page.locator('h1.compartment .id');

/** Logs `courier` in through the page, from the start screen to the tracking id screen. */
export async function logIn(page, courier, totp, shoot) {
  await button(page, 'Courier').click();
  await tapText(page, courier.name);
  await shoot?.(page, 'courier-name');
  await button(page, 'Next').click();
  await tapDigits(page, totp(courier.secret));
  await shoot?.(page, 'courier-code');
  await button(page, 'Log in').click();
  await page.getByText('Scan or type the tracking number').waitFor();
}

/** From the start screen to a delivery's tracking number. */
export async function startDelivery(page) {
  await button(page, 'Deliver').click();
  await page.getByText('Delivery: scan or type the tracking number').waitFor();
}

/** The page's next `201` from POST /api/v1/deliveries, as the page's script sees it: no
 * `token` in it (the delivery's session is an HttpOnly cookie). */
export async function deliveryAnswer(page) {
  const answer = await page.waitForResponse((r) => r.url().endsWith('/api/v1/deliveries') && r.request().method() === 'POST' && r.status() === 201);
  const body = await answer.json();
  assert.equal(body.token, undefined, 'the delivery\'s token never reaches the page');
  assert.match(await answer.headerValue('set-cookie') ?? '', /lockerd_courier=.*HttpOnly/i, 'its session is an HttpOnly cookie');
  return body;
}

/** The parcel is in compartment `id`: the driver closes the door and presses Done, which
 * confirms it in the delivery's session; the page says where the parcel is. */
export async function finishDelivery(page, { id, tracking, shoot }) {
  await simDoor(id, false);
  await page.getByText('The door is closed. Press Done to finish.').waitFor();
  const confirmed = page.waitForResponse((r) => /\/api\/v1\/deposits\/[^/]+\/confirm$/.test(r.url()));
  await button(page, 'Done').click();
  assert.equal((await confirmed).status(), 200, 'Done confirms in the delivery\'s session');
  await page.getByText(`Parcel ${tracking} is in compartment ${id}.`).waitFor();
  await shoot?.(page, 'stored');
}
