// Without the pairing cookie the page is nothing but "not paired"; a pairing link works once;
// a page on another origin cannot make the kiosk's browser open a compartment.

import assert from 'node:assert/strict';
import http from 'node:http';
import * as api from './lib/api.js';
import { camera, scenario } from './lib/browser.js';

/** The page shows only the not-paired message: no keypad, no button, no field. */
async function assertNotPaired(page) {
  const text = (await page.locator('body').innerText()).replace(/\s+/g, ' ').trim();
  assert.match(text, /^This screen is not paired/, text);
  assert.match(text, /ask the operator/);
  assert.equal(await page.getByRole('group', { name: 'Keypad' }).count(), 0, 'no keypad');
  assert.equal(await page.locator('button, input, form').count(), 0, 'nothing to operate');
}

scenario('a browser that was never paired sees only "not paired"', async (kit) => {
  const { page } = await kit.blank();
  const answer = await page.goto('/kiosk/');
  assert.equal(answer.status(), 401);
  await assertNotPaired(page);
  assert.equal(await page.locator('script').count(), 0, 'the not-paired page runs no script');
  await camera('pairing')(page, 'not-paired');
});

scenario('a pairing link works once; used again it pairs nothing', async (kit) => {
  const link = await api.pairingLink('e2e-pairing-once');
  const first = await kit.blank();
  await first.page.goto(link);
  await first.page.getByRole('group', { name: 'Keypad' }).waitFor();
  const second = await kit.blank();
  const answer = await second.page.goto(link);
  assert.equal(answer.status(), 401);
  await assertNotPaired(second.page);
  // Nor did it pair the second browser for later.
  await second.page.goto('/kiosk/');
  await assertNotPaired(second.page);
  await camera('pairing')(second.page, 'used-link');
});

/** A page on another origin (same host, another port: same-site, so even a SameSite=Strict
 * cookie goes along) that tries a pickup with a valid code three ways. */
function attacker(code) {
  const target = `${api.BASE}/api/v1/pickup`;
  const body = JSON.stringify({ code });
  const page = `<!doctype html><title>attacker</title>
<form id="f" method="POST" action="${target}" enctype="text/plain">
<input type="hidden" name='{"code":"${code}","pad":"' value='"}'></form>
<script>
const target = ${JSON.stringify(target)};
const body = ${JSON.stringify(body)};
const tries = [
  fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body }),
  fetch(target, { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json', 'X-Lockerd-Csrf': '1' }, body }),
];
Promise.allSettled(tries).then((r) => {
  document.title = 'tried: ' + r.map((x) => x.status).join(',');
  document.getElementById('f').submit();
});
</script>`;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

scenario('a cross-site POST from a paired browser is refused', async (kit) => {
  const stored = await api.storedParcel('S');
  const before = await api.keypad();
  const server = await attacker(stored.code);
  kit.defer(() => new Promise((resolve) => server.close(resolve)));
  const { page, context } = await kit.paired('e2e-csrf');
  const pickups = [];
  context.on('response', (r) => {
    if (r.url() === `${api.BASE}/api/v1/pickup`) pickups.push(`${r.request().method()} ${r.status()}`);
  });
  const origin = `http://127.0.0.1:${server.address().port}`;
  assert.notEqual(origin, api.BASE);
  await page.goto(`${origin}/`);
  // The form's navigation lands on the daemon's answer: refused.
  await page.waitForURL(`${api.BASE}/api/v1/pickup`);
  const text = await page.locator('body').innerText();
  assert.match(text, /forbidden/, text);
  await camera('pairing')(page, 'cross-site-refused');
  const posts = pickups.filter((p) => p.startsWith('POST'));
  assert.ok(posts.length >= 2, `the form and the no-cors fetch reached the daemon: ${pickups}`);
  assert.ok(posts.every((p) => p === 'POST 403'), `every cross-site POST was refused: ${pickups}`);

  // Nothing happened: the code still works, no failure counted, the door never moved.
  assert.equal((await api.parcel(stored.parcel)).state, 'stored');
  assert.deepEqual(await api.keypad(), before);
  const c = await api.compartment(stored.compartment);
  assert.equal(c.door, 'closed');
  assert.equal(c.state, 'occupied');
  const feed = await api.events();
  const storedAt = feed.find((e) => e.type === 'parcel.stored' && e.data.parcel_id === stored.parcel).seq;
  const since = feed.filter((e) => e.seq > storedAt && (e.data?.parcel_id === stored.parcel || e.data?.compartment === stored.compartment));
  assert.deepEqual(since.map((e) => e.type), [], 'no event about the parcel or its compartment since it was stored');
});

scenario('a screen unpaired while showing the page says so at its next call', async (kit) => {
  const { page } = await kit.paired('e2e-unpaired');
  await api.expect(204, 'DELETE', '/api/v1/tokens/e2e-unpaired');
  await page.keyboard.type('123456');
  await page.keyboard.press('Enter');
  await page.getByText('This screen is not paired').waitFor();
  await assertNotPaired(page);
  await camera('pairing')(page, 'unpaired');
});
