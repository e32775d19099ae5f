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

/** The page's next `201` from POST /api/v1/deliveries (it carries the delivery's token). */
export function deliveryAnswer(page) {
  return page.waitForResponse((r) => r.url().endsWith('/api/v1/deliveries') && r.request().method() === 'POST' && r.status() === 201);
}

/** The parcel is in compartment `id`: the driver closes the door and presses Done, which
 * confirms with the delivery's own `token`; the page says where the parcel is. */
export async function finishDelivery(page, { id, token, tracking, shoot }) {
  await simDoor(id, false);
  await page.getByText('The door is closed. Press Done to finish.').waitFor();
  const confirm = page.waitForRequest((r) => /\/api\/v1\/deposits\/[^/]+\/confirm$/.test(r.url()));
  await button(page, 'Done').click();
  assert.equal((await confirm).headers().authorization, `Bearer ${token}`, 'Done confirms with the delivery\'s token');
  await page.getByText(`Parcel ${tracking} is in compartment ${id}.`).waitFor();
  await shoot?.(page, 'stored');
}
