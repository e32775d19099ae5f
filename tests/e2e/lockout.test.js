// Enough wrong codes lock the keypad: the page counts down and takes no code meanwhile, then
// takes codes again.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import * as api from './lib/api.js';
import { camera, scenario } from './lib/browser.js';
import { button, keypad, tapDigits } from './lib/ui.js';

before(async () => {
  await api.expect(204, 'POST', '/api/v1/keypad/unlock');
});
after(async () => {
  // The other tests share this daemon's keypad.
  await api.expect(204, 'POST', '/api/v1/keypad/unlock');
});

scenario('repeated wrong codes show a countdown and disable the keypad', async (kit) => {
  const { page } = await kit.paired('e2e-lockout');
  // The countdown's end is reached on Playwright's clock, not by waiting a minute.
  await page.clock.install();
  await page.reload();
  const shoot = camera('lockout');
  const countdown = page.getByText(/Too many attempts\. You can try again in \d+:\d\d\./);
  // One more attempt than the limit: the one past it is answered 429 at the latest.
  for (let attempt = 1; attempt <= api.KEYPAD_MAX_FAILURES + 1; attempt += 1) {
    if (await countdown.isVisible()) break;
    await tapDigits(page, '000000'.slice(0, 5) + String(attempt % 10));
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/pickup'));
    await button(page, 'OK').click();
    await answered;
    await page.locator('#screen .note').filter({ hasNotText: 'One moment' }).waitFor();
  }
  await countdown.waitFor();
  await shoot(page, 'countdown');
  const digits = keypad(page).getByRole('button');
  assert.equal(await digits.count(), 12);
  for (const key of await digits.all()) assert.equal(await key.isDisabled(), true, 'every key is disabled');
  assert.equal(await page.locator('#code').isDisabled(), true, 'the code field is disabled');
  // Typing on a physical keyboard does nothing either.
  await page.keyboard.type('123');
  assert.equal(await page.locator('#code').inputValue(), '');
  const status = await api.keypad();
  assert.ok(status.locked_until, `the daemon has the keypad locked: ${JSON.stringify(status)}`);

  // When the countdown has run out, the keypad takes codes again.
  const wait = Math.ceil((Date.parse(status.locked_until) - Date.now()) / 1000) + 2;
  await page.clock.fastForward(wait * 1000);
  await keypad(page).getByRole('button', { name: '5', exact: true }).and(page.locator(':enabled')).waitFor();
  assert.equal(await countdown.isVisible(), false);
  assert.equal(await page.locator('#code').isEnabled(), true);
  await shoot(page, 'countdown-over');
});
