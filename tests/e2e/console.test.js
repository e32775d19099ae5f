// The operator console (docs/console.md): signing in through the page with an operator token
// (never a kiosk's), the wall following a door live, an opening for maintenance with a reason
// and its audit entry, signing out; screenshots at phone and laptop sizes.

import assert from 'node:assert/strict';
import jsQR from 'jsqr';
import * as api from './lib/api.js';
import { camera, scenario } from './lib/browser.js';
import { LAYOUTS, OPERATOR_TOKEN, freeCompartment, signedIn, tile, typeToken } from './lib/console.js';

scenario('only an operator token signs in, and the page never holds it', async (kit) => {
  const kioskToken = (await api.expect(201, 'POST', '/api/v1/tokens', {
    body: { role: 'kiosk', name: api.unique('console-kiosk') },
  })).token;
  const { page, context } = await kit.blank({ viewport: LAYOUTS.laptop });
  const shoot = camera('console-signin');
  const answer = await page.goto('/console/');
  assert.equal(answer.status(), 401);
  await shoot(page, 'sign-in');
  await typeToken(page, kioskToken);
  await page.getByRole('alert').filter({ hasText: 'only an operator token' }).waitFor();
  await typeToken(page, 'lkd_not-a-token');
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
  await shoot(page, 'refused');

  await typeToken(page, OPERATOR_TOKEN);
  await tile(page, 'A1').waitFor();
  assert.equal(new URL(page.url()).pathname, '/console/');
  assert.ok(!page.url().includes(OPERATOR_TOKEN), 'not in the address bar');
  assert.ok(!(await page.content()).includes(OPERATOR_TOKEN), 'not in the page');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the cookie is HttpOnly');
  const [cookie] = (await context.cookies()).filter((c) => c.name === 'lockerd_console');
  assert.ok(cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.value !== OPERATOR_TOKEN);
  assert.ok(cookie.expires * 1000 > Date.now() && cookie.expires * 1000 < Date.now() + 13 * 3600_000, 'a session that expires');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Operator token').waitFor();
  assert.equal((await context.cookies()).filter((c) => c.name === 'lockerd_console').length, 0);
  assert.equal((await page.goto('/console/')).status(), 401, 'signed out');
});

scenario('the wall follows a door live and an opening for maintenance is audited', async (kit) => {
  const id = await freeCompartment();
  const { page } = await signedIn(kit);
  const shoot = camera('console-wall');
  await shoot(page, 'laptop');
  const door = tile(page, id);
  assert.equal(await door.getAttribute('data-door'), 'closed');

  await api.simDoor(id, true);
  await page.locator(`.tile[data-id="${id}"][data-door="open"]`).waitFor();
  await shoot(page, 'door-opened-by-hand');
  await api.simDoor(id, false);
  await page.locator(`.tile[data-id="${id}"][data-door="closed"]`).waitFor();

  // Keyboard only: the tile, the action, the reason, Enter.
  await door.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Open for maintenance' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await shoot(page, 'confirm');
  const reason = `console e2e ${api.unique('r')}`;
  await page.keyboard.type(reason);
  await page.keyboard.press('Enter');
  await page.locator('#audit li').filter({ hasText: 'maintenance.opening' }).filter({ hasText: reason }).waitFor();
  await api.waitDoor(id, 'open');
  await page.locator(`.tile[data-id="${id}"][data-door="open"]`).waitFor();
  await shoot(page, 'opened-audited');
  await api.simDoor(id, false);
  await api.waitFor(`${id} free again`, async () => (await api.compartment(id)).state === 'free');

  // Disable and enable, each confirmed; the tile shows it.
  await door.click();
  await page.getByRole('button', { name: 'Disable' }).click();
  await page.getByLabel('Reason').fill('console e2e');
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.locator(`.tile[data-id="${id}"][data-state="disabled"]`).waitFor();
  await page.getByRole('button', { name: 'Enable' }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.locator(`.tile[data-id="${id}"][data-state="free"]`).waitFor();
  assert.equal((await api.compartment(id)).state, 'free');
});

scenario('the wall at phone size, in German', async (kit) => {
  const { page } = await signedIn(kit, 'phone');
  const shoot = camera('console-phone');
  await shoot(page, 'wall-en');
  await page.getByRole('button', { name: 'Deutsch' }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
  await page.getByRole('heading', { name: 'Wand' }).waitFor();
  await shoot(page, 'wall-de');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page itself does not scroll sideways (${overflow}px)`);
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
});

scenario('a parcel is found by its tracking id, its evidence downloads, its code is renewed', async (kit) => {
  const stored = await api.storedParcel('S');
  const parcel = await api.parcel(stored.parcel);
  const { page } = await signedIn(kit);
  const shoot = camera('console-parcels');
  await page.getByRole('link', { name: 'Parcels' }).click();
  await page.getByLabel('Tracking id').fill(parcel.tracking_id.slice(2));
  await page.getByLabel('State').selectOption('stored');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: parcel.tracking_id }).click();
  await page.getByRole('heading', { name: `Parcel ${parcel.tracking_id}` }).waitFor();
  await page.locator('#history li').filter({ hasText: 'parcel.stored' }).first().waitFor();
  await shoot(page, 'parcel');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download evidence' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `evidence-${parcel.id}.json`);
  const chunks = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk);
  const evidence = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  assert.equal(evidence.parcel.id, parcel.id);
  assert.equal(evidence.parcel.tracking_id, parcel.tracking_id);
  assert.ok(evidence.audit.some((e) => e.action === 'parcel.stored'));

  await page.getByRole('button', { name: 'New pickup code' }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('status').filter({ hasText: 'A new code was issued' }).waitFor();
  const renewed = await api.waitFor('the new-code audit entry', async () => {
    const { entries } = await api.expect(200, 'GET', '/api/v1/audit?limit=1000&after=0');
    return entries.find((e) => e.action === 'parcel.new_code' && e.detail.parcel_id === parcel.id);
  });
  assert.equal(renewed.actor.split(':')[0], 'operator');
});

/** The text of the QR code `selector` shows, read as a phone's camera would: the image drawn,
 * its pixels decoded. */
async function readQr(page, selector) {
  const pixels = await page.locator(selector).evaluate(async (img) => {
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth || 240;
    canvas.height = img.naturalHeight || 240;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
    return { width: data.width, height: data.height, data: Array.from(data.data) };
  });
  const decoded = jsQR(Uint8ClampedArray.from(pixels.data), pixels.width, pixels.height);
  assert.ok(decoded, 'the QR code decodes');
  return decoded.data;
}

scenario('a phone signs in once with the link the console shows as a QR code', async (kit) => {
  const { page } = await signedIn(kit);
  const shoot = camera('console-link');
  await page.getByRole('link', { name: 'People' }).click();
  const name = api.unique('desk-phone');
  await page.getByLabel('Device name').fill(name);
  await page.getByRole('button', { name: 'Make a sign-in link' }).click();
  await page.locator('#link-qr').waitFor();
  await page.locator('#link-qr').scrollIntoViewIfNeeded();
  await shoot(page, 'link-made');
  assert.ok(!/\bnull\b/.test(await page.locator('#view').innerText()), 'no stray "null" under the lists');
  const link = await readQr(page, '#link-qr');
  assert.equal(link, await page.locator('#console-link').innerText(), 'the code says the link shown');
  assert.match(link, /\/console\/#link=[0-9a-f]{32}$/);

  // The phone opens it: the sign-in page, the code gone from the address bar, nothing spent yet.
  const phone = await kit.blank({ viewport: LAYOUTS.phone });
  assert.equal((await phone.page.goto(link)).status(), 401);
  const button = phone.page.getByRole('button', { name: 'Sign in with this link' });
  await button.waitFor();
  assert.ok(!phone.page.url().includes('link='), `the address bar: ${phone.page.url()}`);
  await shoot(phone.page, 'link-sign-in');
  await button.click();
  await tile(phone.page, 'A1').waitFor();
  await shoot(phone.page, 'linked');
  const { tokens } = await api.expect(200, 'GET', '/api/v1/tokens');
  assert.equal(tokens.find((k) => k.name === name)?.role, 'operator', 'the link made the operator token');

  // Once only: another browser with the same link is told so.
  const late = await kit.blank({ viewport: LAYOUTS.phone });
  await late.page.goto(link);
  await late.page.getByRole('button', { name: 'Sign in with this link' }).click();
  await late.page.getByRole('alert').filter({ hasText: 'does not work any more' }).waitFor();
  await shoot(late.page, 'link-spent');
  assert.equal((await late.page.goto('/console/')).status(), 401, 'not signed in');
});

scenario('a courier added in the console logs in with the secret its QR code carries', async (kit) => {
  const { page } = await signedIn(kit);
  const shoot = camera('console-people');
  await page.getByRole('link', { name: 'People' }).click();
  const name = api.unique('desk-courier');
  await page.getByLabel('Name').first().fill(name);
  await page.getByRole('button', { name: 'Add courier' }).click();
  await page.locator('#totp-qr').waitFor();
  await shoot(page, 'courier-added');
  const decoded = await readQr(page, '#totp-qr');
  assert.equal(decoded, await page.locator('#otpauth').getAttribute('href'), 'the code says the link');
  const url = new URL(decoded);
  assert.equal(url.protocol, 'otpauth:');
  assert.equal(url.host, 'totp');
  assert.equal(decodeURIComponent(url.pathname), `/lockerd:${name}`);
  const secret = url.searchParams.get('secret');
  assert.equal(secret, await page.locator('#totp-secret').innerText());
  assert.equal(url.searchParams.get('issuer'), 'lockerd');

  // The secret shown is the courier's: a login with its TOTP works.
  const kiosk = (await api.expect(201, 'POST', '/api/v1/tokens', { body: { role: 'kiosk', name: api.unique('console-k') } })).token;
  await api.expect(200, 'POST', '/api/v1/courier/login', { token: kiosk, body: { courier: name, code: api.totp(secret) } });

  await page.getByRole('button', { name: 'I have noted it' }).click();
  assert.equal(await page.locator('#totp-secret').count(), 0, 'gone once noted');
  const row = page.locator('#couriers tr').filter({ hasText: name });
  await row.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await row.waitFor({ state: 'detached' });
  const { couriers } = await api.expect(200, 'GET', '/api/v1/couriers');
  assert.ok(!couriers.some((c) => c.name === name && c.active !== false), 'removed');
});

scenario('an access code is created, shown once, and deleted in the console', async (kit) => {
  const { page } = await signedIn(kit, 'phone');
  const shoot = camera('console-codes');
  await page.getByRole('link', { name: 'Codes' }).click();
  const name = api.unique('desk-pin');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Purpose').selectOption('delivery');
  await page.getByLabel('Uses (empty: unlimited)').fill('2');
  await page.getByRole('button', { name: 'Create code' }).click();
  const code = await page.locator('#new-code').innerText();
  assert.match(code, /^\d{4,}$/);
  await shoot(page, 'code-created');
  const listed = async () => (await api.expect(200, 'GET', '/api/v1/access-codes')).access_codes.find((c) => c.name === name);
  const made = await listed();
  assert.equal(made.purpose, 'delivery');
  assert.equal(made.uses_left, 2);
  const row = page.locator('#access-codes tr').filter({ hasText: name });
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await row.waitFor({ state: 'detached' });
  assert.equal(await listed(), undefined, 'deleted');
  await shoot(page, 'code-deleted');
});

scenario('health: the buses, a wrong code counted and cleared by unlocking, the audit chain verified', async (kit) => {
  const kiosk = (await api.expect(201, 'POST', '/api/v1/tokens', { body: { role: 'kiosk', name: api.unique('console-h') } })).token;
  const stored = await api.storedParcel('S');
  const wrong = await api.request('POST', '/api/v1/pickup', { token: kiosk, body: { code: api.wrongCode(stored.code) } });
  assert.equal(wrong.status, 401, wrong.text);
  const { page } = await signedIn(kit);
  const shoot = camera('console-health');
  await page.getByRole('link', { name: 'Health' }).click();
  await page.locator('#buses tr').first().waitFor();
  const health = await api.expect(200, 'GET', '/healthz');
  assert.equal(await page.locator('#buses tr').count(), health.buses.length);
  await page.locator('#keypad dd').filter({ hasText: /^1$/ }).waitFor();
  const result = page.locator('#audit-result');
  await result.filter({ hasText: 'Intact' }).waitFor();
  const { head } = await api.expect(200, 'GET', '/api/v1/audit/verify');
  assert.ok(head.seq > 0);
  await shoot(page, 'laptop');

  await page.getByRole('button', { name: 'Unlock the keypad' }).click();
  await page.getByRole('button', { name: 'Confirm' }).click();
  await api.waitFor('the keypad count cleared', async () => (await api.keypad()).failures === 0);
  const { entries } = await api.expect(200, 'GET', `/api/v1/audit?after=${head.seq - 1}&limit=1000`);
  assert.ok(entries.some((e) => e.action === 'keypad.unlocked' && e.actor.startsWith('operator:')));
  await page.getByRole('button', { name: 'Verify again' }).click();
  await result.filter({ hasText: 'Intact' }).waitFor();
});

scenario('every view at phone and laptop size, none scrolling sideways', async (kit) => {
  for (const layout of ['phone', 'laptop']) {
    const signIn = await kit.blank({ viewport: LAYOUTS[layout] });
    await signIn.page.goto('/console/');
    await signIn.page.getByLabel('Operator token').waitFor();
    const shoot = camera(`console-views-${layout}`);
    await shoot(signIn.page, 'sign-in');
    const { page } = await signedIn(kit, layout);
    for (const [view, heading] of [['wall', 'Wall'], ['parcels', 'Parcels'], ['people', 'People and tokens'], ['codes', 'Codes and reservations'], ['health', 'Health']]) {
      await page.goto(`/console/#${view}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.waitForLoadState('networkidle').catch(() => {});
      await shoot(page, view);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${view} at ${layout}: the page scrolls sideways by ${overflow}px`);
    }
  }
});
