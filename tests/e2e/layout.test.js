// The start screen and the compartment-open screen at the four screen sizes the locker's
// displays come in: a screenshot of each, no horizontal scrolling, keys of at least 48 px.

import assert from 'node:assert/strict';
import { before } from 'node:test';
import * as api from './lib/api.js';
import { camera, scenario } from './lib/browser.js';
import { bigId, button, keypad } from './lib/ui.js';

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
