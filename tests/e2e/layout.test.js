// The start screen, the compartment-open screen and a delivery's two screens (tracking number
// and size, delivery PIN) at the four screen sizes the locker's displays come in: a screenshot
// of each, no horizontal scrolling, keys of at least 48 px.

import assert from 'node:assert/strict';
import { before } from 'node:test';
import * as api from './lib/api.js';
import { camera, scenario } from './lib/browser.js';
import { bigId, button, keypad, startDelivery } from './lib/ui.js';

const VIEWPORTS = [
  { width: 800, height: 480 },
  { width: 480, height: 800 },
  { width: 1280, height: 800 },
  { width: 800, height: 1280 },
];
const MIN_TARGET = 48;

before(async () => {
  await api.expect(204, 'POST', '/api/v1/keypad/unlock');
});
async function assertFits(page, what) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(scrollWidth <= clientWidth, `${what}: no horizontal scrollbar (${scrollWidth} > ${clientWidth})`);
  for (const b of await page.getByRole('button').all()) {
    const box = await b.boundingBox();
    const name = await b.textContent();
    assert.ok(box.width >= MIN_TARGET && box.height >= MIN_TARGET, `${what}: button "${name}" is ${box.width}x${box.height}`);
  }
}

scenario('the start and open screens fit every display size', async (kit) => {
  const { page } = await kit.paired('e2e-layout');
  const shoot = camera('layout');
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    const size = `${viewport.width}x${viewport.height}`;
    await keypad(page).waitFor();
    assert.equal(await keypad(page).getByRole('button').count(), 12);
    await assertFits(page, `start ${size}`);
    await shoot(page, `start-${size}`);
  }

  const stored = await api.storedParcel('M');
  await page.keyboard.type(stored.code);
  await button(page, 'OK').click();
  await page.getByText('Close the door when done.').waitFor();
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    const size = `${viewport.width}x${viewport.height}`;
    await assertFits(page, `open ${size}`);
    const id = await bigId(page).boundingBox();
    const short = Math.min(viewport.width, viewport.height);
    assert.ok(id.height >= short / 4, `open ${size}: the compartment id is large (${id.height}px)`);
    await shoot(page, `open-${size}`);
  }
  await api.simDoor(stored.compartment, false);
  await page.getByText('Enter your pickup code').waitFor();
  await api.waitParcel(stored.parcel, 'collected');
});

scenario('a delivery\'s screens fit every display size', async (kit) => {
  const { page } = await kit.paired('e2e-layout');
  const shoot = camera('layout-deliver');
  await startDelivery(page);
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    const size = `${viewport.width}x${viewport.height}`;
    await assertFits(page, `deliver ${size}`);
    await shoot(page, `tracking-${size}`);
  }
  // A tracking number nothing expects: the PIN screen.
  await page.keyboard.type(api.unique('LAYOUT').toUpperCase());
  await page.keyboard.press('Enter');
  await page.getByText('Enter the delivery PIN').waitFor();
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    const size = `${viewport.width}x${viewport.height}`;
    await assertFits(page, `delivery PIN ${size}`);
    assert.equal(await keypad(page).getByRole('button').count(), 12);
    await shoot(page, `pin-${size}`);
  }
  await button(page, 'Back').click();
  await button(page, 'Back').click();
  await page.getByText('Enter your pickup code').waitFor();
});

scenario('the open screen of a standing code with three compartments fits every display size', async (kit) => {
  const stored = [await api.storedParcel('S'), await api.storedParcel('M'), await api.storedParcel('L')];
  const ids = stored.map((p) => p.compartment);
  const standing = await api.accessCode('pickup', { compartments: ids });
  const { page } = await kit.paired('e2e-layout');
  const shoot = camera('layout-standing');
  await page.keyboard.type(standing.code);
  await button(page, 'OK').click();
  await page.getByText('Close every door when done.').waitFor();
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    const size = `${viewport.width}x${viewport.height}`;
    await assertFits(page, `open three ${size}`);
    for (const id of await bigId(page).all()) {
      const box = await id.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= viewport.width, `open three ${size}: every id is on screen`);
    }
    await shoot(page, `open-${size}`);
  }
  for (const id of ids) {
    await api.waitDoor(id, 'open');
    await api.simDoor(id, false);
  }
  await page.getByText('Enter your pickup code').waitFor();
  for (const p of stored) await api.waitParcel(p.parcel, 'collected');
});
