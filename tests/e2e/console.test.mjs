// The duty console in a real browser against real node processes: log in with TOTP (enrolment,
// then a code), compose and publish a GREEN warning on one node, see it arrive live on a second
// node's watch floor without reloading, acknowledge it there, watch the origin's matrix turn to
// acknowledged, and switch the console to Spanish and Portuguese. Screenshots of every page in
// three languages go to target/screenshots/.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { launchBrowser, screenshot } from './lib/browser.mjs';
import { startNet } from './lib/net.mjs';
import { secondsLeft, totp } from './lib/totp.mjs';

const PASSWORD = 'correct horse battery staple';

/** Log in; enrol TOTP on first login (returns the secret) or give a code. */
async function login(page, node, username, { secret = null, shots = null } = {}) {
  await page.goto(`${node.url}/console/login`);
  if (shots) await screenshot(page, `login-${shots}`);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  if (!secret) {
    assert.match(page.url(), /\/console\/enrol$/, 'a duty officer must enrol a second factor first');
    assert.ok(await page.isVisible('.qr svg'), 'the QR code is shown');
    if (shots) await screenshot(page, `enrol-${shots}`);
    secret = (await page.textContent('#totp-secret')).trim();
    await page.fill('#code', totp(secret));
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    const codes = await page.$$eval('#recovery-codes code', (els) => els.map((e) => e.textContent));
    assert.equal(codes.length, 10, 'ten recovery codes');
    if (shots) await screenshot(page, `recovery-codes-${shots}`);
    await Promise.all([page.waitForNavigation(), page.click('a.button')]);
  } else {
    assert.match(page.url(), /\/console\/login\/totp$/);
    // A code is accepted once: wait for a fresh step after the enrolment's.
    await sleep(secondsLeft() * 1000 + 500);
    await page.fill('#code', totp(secret));
    if (shots) await screenshot(page, `totp-${shots}`);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  }
  assert.match(page.url(), /\/console$/, `logged in at ${page.url()}`);
  return secret;
}

async function setLanguage(page, lang) {
  await Promise.all([page.waitForNavigation(), page.selectOption('#lang-switch', lang)]);
  assert.equal(await page.getAttribute('html', 'lang'), lang);
}

test('duty officers on two nodes: TOTP, publish, live arrival, acknowledgement, matrix, languages', { timeout: 300_000 }, async (t) => {
  const net = await startNet(['cl-csirt']);
  t.after(() => net.stop());
  const origin = net.node('cl-csirt');
  const receiver = net.coordinator;
  origin.cli(['user', 'add', '--username', 'ana', '--name', 'Ana Pérez', '--role', 'duty_officer', '--timezone', 'America/Santiago', '--password-stdin'], { input: `${PASSWORD}\n` });
  receiver.cli(['user', 'add', '--username', 'olivia', '--name', 'Olivia Reyes', '--role', 'admin', '--timezone', 'America/New_York', '--password-stdin'], { input: `${PASSWORD}\n` });

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const a = await (await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } })).newPage();
  const b = await (await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } })).newPage();
  const errors = [];
  for (const p of [a, b]) {
    p.on('pageerror', (e) => errors.push(String(e)));
    p.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
    p.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  }

  const title = `Phishing wave against ministries ${Date.now()}`;
  let bulletinUrl;
  let oliviaSecret;

  await t.test('log in with a second factor: enrolment, then a code at the next login', async () => {
    const secret = await login(a, origin, 'ana', { shots: 'en' });
    await Promise.all([a.waitForNavigation(), a.click('form.logout button')]);
    assert.match(a.url(), /\/console\/login$/);
    await login(a, origin, 'ana', { secret, shots: 'en' });
    oliviaSecret = await login(b, receiver, 'olivia');
    await screenshot(b, 'watch-floor-en');
  });

  await t.test('compose and publish a GREEN warning; the preview names the recipients', async () => {
    await a.goto(`${origin.url}/console/compose`);
    assert.ok(await a.isChecked('input[name=tlp][value=GREEN]'));
    assert.equal((await a.textContent('.tlp.tlp-green')).trim(), 'TLP:GREEN');
    await a.selectOption('#kind', 'attack-warning');
    await a.selectOption('#severity', 'high');
    await a.fill('#title', title);
    await a.fill('#summary', 'Credential-phishing e-mails impersonating the ministry of finance.');
    await a.fill('#indicators', 'domain login-hacienda.example\nip 203.0.113.7');
    await a.selectOption('#ack_minutes', '30');
    await screenshot(a, 'compose-en');
    await a.click('#preview-button');
    await a.waitForSelector('#recipient-count');
    assert.match(await a.textContent('#recipient-count'), /1 members/);
    assert.match(await a.textContent('.recipients'), /coordinator/);
    await screenshot(a, 'compose-preview-en');
    // The receiver's watch floor is open and will not be reloaded.
    await b.goto(`${receiver.url}/console`);
    await b.evaluate(() => { window.__notReloaded = true; });
    await sleep(500); // the event stream is connected
    await Promise.all([a.waitForNavigation(), a.click('#publish-button')]);
    bulletinUrl = a.url();
    assert.match(bulletinUrl, /\/console\/bulletins\/[0-9a-f-]{36}$/);
    assert.equal(await a.textContent('h1'), title);
    await a.evaluate(() => { window.__notReloaded = true; });
  });

  await t.test('it arrives live on the other node\'s watch floor, which is acknowledged there', async () => {
    await b.waitForSelector(`#feed a:has-text("${title}")`, { timeout: 20_000 });
    await b.waitForSelector(`#awaiting a:has-text("${title}")`, { timeout: 20_000 });
    assert.equal(await b.evaluate(() => window.__notReloaded), true, 'arrived without a reload');
    const card = b.locator('#awaiting li.card', { hasText: title });
    assert.match(await card.textContent(), /left/);
    await screenshot(b, 'watch-floor-arrived-en');
    await card.locator('select[name=note]').selectOption('no-impact');
    await Promise.all([b.waitForNavigation(), card.locator('button[type=submit]').click()]);
    assert.match(await b.textContent('#own-ack'), /Olivia Reyes/);
    await screenshot(b, 'bulletin-acknowledged-en');
  });

  await t.test('the origin\'s matrix turns to acknowledged, live', async () => {
    await a.waitForSelector('#matrix tr[data-node="coordinator"][data-state="acknowledged"]', { timeout: 20_000 });
    assert.equal(await a.evaluate(() => window.__notReloaded), true, 'updated without a reload');
    const row = await a.textContent('#matrix tr[data-node="coordinator"]');
    assert.match(row, /Olivia Reyes/);
    assert.match(row, /No impact/);
    assert.match(await a.textContent('#matrix-totals'), /1 of 1 acknowledged/);
    await screenshot(a, 'bulletin-matrix-en');
  });

  await t.test('the map shows the member states and the acknowledgement', async () => {
    await b.goto(`${receiver.url}/console`);
    const classes = await b.getAttribute('svg.americas g[data-country="CL"]', 'class');
    assert.match(classes, /ns-(reachable|lagging|unknown)/, `CL on the map: ${classes}`);
    assert.equal(await b.locator('svg.americas g.country').count(), 35);
    await a.goto(`${origin.url}/console`);
    await a.waitForSelector('svg.americas g[data-country="US"].ack-acknowledged', { timeout: 20_000 });
  });

  await t.test('a communication check: started on one node, answered by a person on the other', async () => {
    await b.goto(`${receiver.url}/console`);
    await b.evaluate(() => { window.__notReloaded = true; });
    await a.goto(`${origin.url}/console/checks`);
    await a.fill('#check-message', 'Monthly check: please answer');
    await Promise.all([a.waitForNavigation(), a.click('#start-check')]);
    assert.match(a.url(), /\/console\/checks\/[0-9a-f-]{36}$/);
    const card = b.locator('#pending-checks li.card', { hasText: 'cl-csirt' });
    await card.waitFor({ timeout: 20_000 });
    assert.equal(await b.evaluate(() => window.__notReloaded), true, 'the check arrived live');
    await screenshot(b, 'watch-floor-check-en');
    await card.locator('input[name=note]').fill('All good here');
    await Promise.all([b.waitForNavigation(), card.locator('button[type=submit]').click()]);
    await a.waitForSelector('tr[data-node="coordinator"][data-state="answered"]', { timeout: 20_000 });
    assert.match(await a.textContent('tr[data-node="coordinator"]'), /Olivia Reyes — All good here/);
    assert.match(await a.textContent('#check-totals'), /1 of 1 answered/);
    await screenshot(a, 'check-report-en');
    await a.goto(`${origin.url}/console/checks`);
    assert.equal(await a.locator('#checks-trend tr[data-node="coordinator"] polyline').count(), 1, 'the trend has a point');
  });

  const pages = [
    ['checks', '/console/checks'],
    ['watch-floor', '/console'],
    ['compose', '/console/compose'],
    ['peers', '/console/peers'],
    ['tokens', '/console/tokens'],
    ['settings', '/console/settings'],
    ['account', '/console/account'],
  ];
  const words = { es: ['Sala de vigilancia', 'destinatarios'], pt: ['Sala de vigilância', 'destinatários'] };

  await t.test('every page in English, Spanish and Portuguese; TLP stays untranslated', async () => {
    for (const [name, path] of pages) {
      await a.goto(`${origin.url}${path}`);
      await screenshot(a, `${name}-en`);
    }
    await b.goto(`${receiver.url}/console/users`);
    await screenshot(b, 'users-en');
    for (const lang of ['es', 'pt']) {
      await a.goto(`${origin.url}/console`);
      await setLanguage(a, lang);
      const floor = await a.textContent('body');
      assert.ok(floor.includes(words[lang][0]), `${lang}: navigation translated`);
      for (const [name, path] of pages) {
        await a.goto(`${origin.url}${path}`);
        assert.equal(await a.getAttribute('html', 'lang'), lang);
        await screenshot(a, `${name}-${lang}`);
      }
      await a.goto(bulletinUrl);
      const text = await a.textContent('body');
      assert.ok(text.includes('TLP:GREEN'), `${lang}: TLP label untranslated`);
      assert.ok(text.toLowerCase().includes(words[lang][1]), `${lang}: matrix translated`);
      assert.ok(text.includes('America/Santiago'), 'times in the person\'s zone, with the zone');
      await screenshot(a, `bulletin-matrix-${lang}`);
      await b.goto(`${receiver.url}/console/users`);
      await setLanguage(b, lang);
      await screenshot(b, `users-${lang}`);
    }
    // Back to English, so a rerun starts where it expects.
    await setLanguage(a, 'en');
  });

  await t.test('login, second-factor enrolment and code pages follow the browser\'s language', async () => {
    receiver.cli(['user', 'add', '--username', 'carla', '--name', 'Carla Souza', '--role', 'analyst', '--timezone', 'America/Sao_Paulo', '--password-stdin'], { input: `${PASSWORD}\n` });
    for (const [locale, lang, word] of [['es-CL', 'es', 'Iniciar sesión'], ['pt-BR', 'pt', 'Entrar']]) {
      const page = await (await browser.newContext({ locale, viewport: { width: 1366, height: 900 } })).newPage();
      await page.goto(`${receiver.url}/console/login`);
      assert.equal(await page.getAttribute('html', 'lang'), lang);
      assert.ok((await page.textContent('h2')).includes(word), `${lang}: ${await page.textContent('h2')}`);
      await screenshot(page, `login-${lang}`);
      if (lang === 'es') {
        const secret = await login(page, receiver, 'carla', { shots: lang });
        assert.equal(await page.getAttribute('html', 'lang'), lang);
        await Promise.all([page.waitForNavigation(), page.click('form.logout button')]);
        await login(page, receiver, 'carla', { secret, shots: lang });
      }
    }
  });

  await t.test('a phone-sized screen gets the same watch floor', async () => {
    const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
    await login(phone, receiver, 'olivia', { secret: oliviaSecret });
    await screenshot(phone, 'watch-floor-phone-en');
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 420, `no sideways scrolling of the page (${width}px)`);
  });

  assert.deepEqual(errors, [], 'no script or CSP errors in the pages');
});
